"""Raw header blocks for property tests of the header fast paths: headers named from a given set, folded
continuations and junk lines, any line ending, then perhaps the blank line and a body."""

from __future__ import annotations

from hypothesis import strategies as st

LINE_END = st.sampled_from([b"\r\n", b"\n", b"\r"])


@st.composite
def header_blocks(draw, names: st.SearchStrategy[bytes], values: st.SearchStrategy[bytes]) -> bytes:
    """Up to six lines: `name:value` headers, continuations of `values`, or arbitrary bytes."""
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["header", "continuation", "junk"]))
        if kind == "header":
            lines.append(draw(names) + b":" + draw(values))
        elif kind == "continuation":
            lines.append(draw(st.sampled_from([b" ", b"\t"])) + draw(values))
        else:
            lines.append(draw(st.binary(max_size=30)))
    head = b"".join(line + draw(LINE_END) for line in lines)
    return head + draw(st.sampled_from([b"\r\n", b"\n", b""])) + draw(st.binary(max_size=30))
