// Small conveniences only: every page works without this file.
(function () {
  "use strict";
  // A select marked data-autosubmit sends its form when changed.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) { select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit(); }
    });
  });
  // Opening a PDF marks its row as read at once; the server records it at the same moment.
  document.querySelectorAll("[data-mark-read]").forEach(function (link) {
    link.addEventListener("click", function () {
      var row = link.closest("tr");
      if (!row) { return; }
      row.classList.remove("unread");
      row.classList.add("read");
      var badge = row.querySelector(".badge");
      if (badge) { badge.remove(); }
    });
  });
  // After sorting, focus goes back to the header just used (its link carries #sort-<column>), not to the top.
  if (location.hash.indexOf("#sort-") === 0) {
    var header = document.getElementById(location.hash.slice(1));
    if (header) { header.focus(); }
  }
  // On a phone the filters start folded unless some are in use, so the documents come first.
  var filters = document.querySelector("details.filters-box[data-fold-on-phone]");
  if (filters && window.matchMedia("(max-width: 760px)").matches) { filters.open = false; }
})();
