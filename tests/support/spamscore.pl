#!/usr/bin/perl
# Scores each message file named on the command line with SpamAssassin's local rules only (no network test, no
# Bayes, no auto-whitelist), in one process: one line per file, "path<TAB>score<TAB>RULE=score,RULE=score".
use strict;
use warnings;
use Mail::SpamAssassin;

my $state = shift @ARGV;
my $sa = Mail::SpamAssassin->new({
    local_tests_only => 1, dont_copy_prefs => 1, userstate_dir => $state,
    userprefs_filename => "$state/user_prefs", post_config_text => "use_bayes 0\nuse_auto_whitelist 0\n",
});
$sa->compile_now(0);
for my $path (@ARGV) {
    open(my $fh, '<', $path) or die "$path: $!";
    my $raw = do { local $/; <$fh> };
    close($fh);
    my $mail = $sa->parse($raw);
    my $status = $sa->check($mail);
    printf "%s\t%s\t%s\n", $path, $status->get_score(), $status->get_names_of_tests_hit_with_scores();
    $status->finish();
    $mail->finish();
}
