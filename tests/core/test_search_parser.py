"""The search language on its own: parsing, precedence, error positions, bound parameters."""

from __future__ import annotations

import pytest

from animesion_desktop.core.search import QueryError, compile_query, parse
from animesion_desktop.core.search.nodes import (
    And,
    Compare,
    Everything,
    IsTerm,
    Not,
    Or,
    PathTerm,
    TagTerm,
    to_text,
)


def tag(name: str, category: str | None = None) -> TagTerm:
    return TagTerm(name, category)


def test_empty_query_is_everything() -> None:
    assert parse("") == Everything()
    assert parse("   \t ") == Everything()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # juxtaposition is AND; | binds tighter than it
        ("a b | c", And((tag("a"), Or((tag("b"), tag("c")))))),
        ("a | b c", And((Or((tag("a"), tag("b"))), tag("c")))),
        ("a | b | c", Or((tag("a"), tag("b"), tag("c")))),
        # - binds tightest: it negates one term or one group
        ("-a | b", Or((Not(tag("a")), tag("b")))),
        ("-(a | b) c", And((Not(Or((tag("a"), tag("b")))), tag("c")))),
        ("a (b c) | d", And((tag("a"), Or((And((tag("b"), tag("c"))), tag("d")))))),
        # groups flatten; double negation cancels
        ("(a (b c))", And((tag("a"), tag("b"), tag("c")))),
        ("--a", tag("a")),
        ("((a))", tag("a")),
        ("a|b", Or((tag("a"), tag("b")))),
        ("(a|b)c", And((Or((tag("a"), tag("b"))), tag("c")))),
    ],
)
def test_precedence_and_groups(query: str, expected: object) -> None:
    assert parse(query) == expected


def test_words_quotes_and_parentheses_in_names() -> None:
    assert parse('"blue hair"') == tag("blue_hair")
    assert parse('character:"Hatsune  Miku"') == tag("hatsune_miku", "character")
    assert parse('"-_-"') == tag("-_-")  # quoted: not a negation
    assert parse("k-on!") == tag("k-on!")  # - inside a word is a character
    assert parse("saber_(fate)") == tag("saber_(fate)")
    assert parse("(red_hair | saber_(fate))") == Or((tag("red_hair"), tag("saber_(fate)")))
    assert parse("-hatsune_miku_(append)") == Not(tag("hatsune_miku_(append)"))
    assert parse('";)" x') == And((tag(";)"), tag("x")))
    assert parse("Blue_Hair") == tag("blue_hair")  # names are matched as stored: lower case


def test_categories_and_wildcards() -> None:
    assert parse("character:hatsune_miku") == tag("hatsune_miku", "character")
    assert parse("ARTIST:someone") == tag("someone", "artist")
    assert parse("rating:explicit") == tag("explicit", "rating")
    # a prefix that is not a category is part of the name (Danbooru's re:zero...)
    assert parse("re:zero") == tag("re:zero")
    node = parse("character:*miku*")
    assert node == tag("*miku*", "character") and node.wildcard
    assert parse("hat*").wildcard and not parse("hat").wildcard
    assert parse("**_hair") == tag("*_hair")


def test_comparisons() -> None:
    assert parse("width>=1920") == Compare("width", ">=", 1920)
    assert parse("height<1080") == Compare("height", "<", 1080)
    assert parse("score<0.5") == Compare("score", "<", 0.5)
    assert parse("Width=800") == Compare("width", "=", 800)
    assert parse("width:1920") == Compare("width", "=", 1920)  # Danbooru style
    assert parse("width:>1920") == Compare("width", ">", 1920)
    assert parse("size>2mb") == Compare("size", ">", 2 * 1024 * 1024)
    assert parse("size<=500KB") == Compare("size", "<=", 500 * 1024)
    assert parse("ratio=16:9") == Compare("ratio", "=", 1.78)
    assert parse("ratio>1.5") == Compare("ratio", ">", 1.5)
    # words that merely start like a field are tags
    assert parse("width") == tag("width")
    assert parse("size_difference") == tag("size_difference")


def test_is_and_path_terms() -> None:
    assert parse("is:unreviewed is:untagged is:missing") == And(
        (IsTerm("unreviewed"), IsTerm("untagged"), IsTerm("missing")))
    assert parse("IS:Untagged") == IsTerm("untagged")
    assert parse("path:wallpapers/*") == PathTerm("wallpapers/*")
    assert parse('path:"My Pictures/*.png"') == PathTerm("My Pictures/*.png")
    assert parse("is:error path:x/*") == And((IsTerm("error"), PathTerm("x/*")))


@pytest.mark.parametrize(
    ("query", "column", "reason"),
    [
        ("blue_hair (red_hair", 11, "unclosed parenthesis"),
        ("((a) b", 1, "unclosed parenthesis"),
        ("a |", 3, "'|' needs a term after it"),
        ("a | | b", 3, "'|' needs a term after it"),
        ("(a |) b", 4, "'|' needs a term after it"),
        ("| a", 1, "'|' needs a term before it"),
        ("a ()", 3, "empty parentheses"),
        ("a b)", 4, "unmatched ')'"),
        (")", 1, "unmatched ')'"),
        ("a -", 3, "'-' needs a term after it"),
        ("a - b", 3, "'-' needs a term after it"),
        ("(a -)", 4, "'-' needs a term after it"),
        ("-|a", 1, "'-' needs a term after it"),
        ("width>=abc", 8, "width needs a whole number"),
        ("height<", 8, "needs a number"),
        ("score<1.5", 7, "score needs a number from 0 to 1"),
        ("size>lots", 6, "size needs a number of bytes"),
        ("ratio=16:0", 7, "ratio needs a number"),
        ("is:nope", 4, "unknown is: term 'nope'"),
        ("x is:", 6, "is: needs one of"),
        ("path:", 6, "path: needs a pattern"),
        ('a "blue hair', 3, "unclosed quote"),
        ('character:""', 11, "empty tag name"),
        ("-is:error", 2, "is:error cannot be negated"),
        ("a | is:error", 5, "is:error cannot be negated or inside |"),
        ("is:error blue_hair", 10, "combines only with path: and size"),
    ],
)
def test_errors_name_the_position(query: str, column: int, reason: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(query)
    err = caught.value
    assert isinstance(err, ValueError)
    assert err.column == column, str(err)
    assert reason in err.reason
    first, shown, caret = str(err).split("\n")
    assert first == f"{err.reason} at column {column}"
    assert shown == "  " + query
    assert caret == "  " + " " * (column - 1) + "^"


def test_caret_stays_aligned_with_tabs_and_newlines() -> None:
    with pytest.raises(QueryError) as caught:
        parse("a\t(b\nc")
    _first, shown, caret = str(caught.value).split("\n")
    assert shown == "  a (b c"
    assert caret.index("^") == shown.index("(")


def test_values_are_bound_never_formatted() -> None:
    query = ('"\'; DROP TABLE images; --" 100%_off x\'y o_o what? [x] character:*\'%_* '
             'path:"a\'b%_c*" -width>=0')
    sql, params = compile_query(parse(query))
    assert sorted(map(str, params.values())) == sorted([
        "\';_drop_table_images;_--", "100%_off", "x\'y", "o_o", "what?", "[x]",
        "*\'%_*", "character",  # a GLOB pattern; only * is a wildcard in tag names
        "a\'b\\%\\_c%",  # a LIKE pattern: % and _ typed by the user are escaped
        "0",
    ])
    lowered = sql.lower()
    for typed in ("drop", "100", "x'y", "o_o", "what", "[x]", "a'b", "%_"):
        assert typed not in lowered
    assert all(f":{name}" in sql for name in params)


def test_canonical_text_round_trips() -> None:
    query = ('blue_hair character:hatsune_miku -glasses hat* *_hair (red_hair | pink_hair) '
             'width>=1920 height<1080 path:wallpapers/* is:unreviewed is:untagged score<0.5')
    node = parse(query)
    assert parse(to_text(node)) == node
