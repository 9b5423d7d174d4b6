"""Rendering: Pinpoint's Handlebars dialect. The golden corpus is the user guide's helper examples
(reference/pinpoint-formats.md §5.3), each with its documented input and output; the AWS page's
known slips (§5.3 notes) are checked against the real algorithm instead."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from homing.codec import dump
from homing.domain import rendering
from homing.domain.endpoints import Demographic, Endpoint, EndpointUser, Location
from homing.domain.errors import BadRequest
from homing.domain.rendering import AttributeList, format_date, parse_date, render, shape, variables

ENDPOINT = Endpoint(
    id="ep-1",
    application_id="app",
    creation_date="2024-01-01T00:00:00Z",
    cohort_id="7",
    effective_date="2024-01-01T00:00:00Z",
    channel_type="EMAIL",
    address="jane@example.com",
    attributes={"Colors": ["red", "blue"], "Subscribed": ["true"], "Purchase": ["shoes"]},
    metrics={"Score": 20.5},
    demographic=Demographic(platform="ios"),
    location=Location(city="Paris", country="FR"),
    user=EndpointUser(
        user_id="u-1",
        user_attributes={
            "FirstName": ["Jane"],
            "Last Name": ["Doe"],
            "LastName": ["Doe"],
            "Tier": ["gold"],
            "Age": ["30"],
        },
    ),
)
JANE = variables(ENDPOINT, "ep-1", {}, {})

GOLDEN = [
    # built-in blocks
    ("{{#each Attributes.Colors}}<li>{{this}}</li>{{else}}none{{/each}}", "<li>red</li><li>blue</li>"),
    ("{{#each Attributes.Nothing}}<li>{{this}}</li>{{else}}none{{/each}}", "none"),
    ("{{#each Attributes.Colors}}{{@index}}:{{this}} {{/each}}", "0:red 1:blue "),
    (
        "{{#if User.UserAttributes.FirstName.[0]}}Hello {{User.UserAttributes.FirstName.[0]}}{{else}}Hello{{/if}}",
        "Hello Jane",
    ),
    ("{{#if User.UserAttributes.Nickname.[0]}}Hi {{.}}{{else}}Hello{{/if}}", "Hello"),
    # conditional helpers, block and inline
    ('{{#and (eq Location.City "Paris") (eq Location.Country "FR")}}local{{else}}away{{/and}}', "local"),
    ('{{#and (eq Location.City "Paris") (eq Location.Country "US")}}local{{else}}away{{/and}}', "away"),
    ('{{#or (eq Location.City "Oslo") (eq Location.City "Paris")}}yes{{/or}}', "yes"),
    ('{{#or (eq Location.City "Oslo") (eq Location.City "Bergen")}}NO{{/or}}', ""),
    ("{{eq User.UserAttributes.Tier.[0] \"gold\" yes='VIP' no='member'}}", "VIP"),
    ("{{eq User.UserAttributes.Tier.[0] \"silver\" yes='VIP' no='member'}}", "member"),
    ('{{#neq User.UserAttributes.Tier.[0] "silver"}}upgrade?{{/neq}}', "upgrade?"),
    ('{{#gte User.UserAttributes.Age.[0] "18"}}adult{{else}}minor{{/gte}}', "adult"),
    ('{{#gt User.UserAttributes.Age.[0] "100"}}old{{else}}young{{/gt}}', "young"),
    ("{{#lt 9 10}}numeric{{else}}text{{/lt}}", "numeric"),  # compared as numbers, not as text
    ('{{lte "3" 3 yes="y" no="n"}}', "y"),
    ('{{not (eq Location.City "Rome")}}', "true"),
    ('{{not (eq Location.City "Paris")}}', "false"),
    ("{{#not Attributes.Missing}}absent{{/not}}", "absent"),
    # string helpers
    ('{{abbreviate "Bartholomew" 6}}', "Bar..."),
    ('{{capitalize "new york city"}}', "New York City"),
    ('{{capitalizeFirst "new york"}}', "New york"),
    ('{{center "ab" size=6 pad="*"}}', "**ab**"),
    ('{{cut "Los Angeles" "e"}}', "Los Angls"),
    ('{{cut "Los Angeles"}}', "LosAngeles"),
    (
        '{{dateFormat "03/15/2024" inputFormat="MM/dd/yyyy" outputFormat="full" tz=Europe/Paris}}',
        "Friday, March 15, 2024",
    ),
    ('{{dateFormat "2024-03-15T10:04:05Z" outputFormat="yyyy-MM-dd HH:mm"}}', "2024-03-15 10:04"),
    ('{{dateFormat "2024-03-15T10:04:05Z" outputFormat="long" tz="America/New_York"}}', "March 15, 2024"),
    ('{{dateFormat "2024-03-15T23:30:00Z" outputFormat="EEE d MMM" tz="Asia/Tokyo"}}', "Sat 16 Mar"),
    ('{{dateFormat "2024-03-15T10:04:05Z"}}', "Mar 15, 2024"),  # medium is the default
    ('{{inflect 2 "ticket" "tickets" includeCount=true}}', "2 tickets"),
    ('{{inflect 1 "ticket" "tickets"}}', "ticket"),
    ('{{join Attributes.Colors ", "}}', "red, blue"),
    ('{{join Attributes.Colors "/" prefix="[" suffix="]"}}', "[red/blue]"),
    ('{{ljust "Oslo" 6 pad="."}}', "Oslo.."),
    ('{{rjust "Oslo" 6 pad="."}}', "..Oslo"),
    ('{{lower "SMITH"}}', "smith"),
    ('{{upper "Smith"}}', "SMITH"),
    ("{{ordinalize 23}} {{ordinalize 11}} {{ordinalize 1}} {{ordinalize 102}}", "23rd 11th 1st 102nd"),
    ('{{replace "Los Angeles" " " "_"}}', "Los_Angeles"),
    ('{{slugify " San José Del "}}', "san-jos-del"),
    ('{{stripTags "<b>Art</b>"}}', "Art"),
    ('{{substring "Los Angeles" 4 9}}', "Angel"),
    ('{{substring "Los Angeles" 4}}', "Angeles"),
    ("{{yesno Attributes.Subscribed.[0]}}", "yes"),
    ('{{yesno "false" no="Nope"}}', "Nope"),
    ("{{yesno Attributes.Missing}}", "maybe"),
    # math and encoding
    ("{{add 5 2.3}}", "7.3"),
    ("{{subtract 5 2.3}}", "2.7"),
    ("{{multiply 5 2.3}}", "11.5"),
    ("{{divide 5 2.3}}", "2.17391304"),
    ("{{modulo 7 2}}", "1"),
    ("{{ceiling 5.23}}", "6"),
    ("{{floor 5.23}}", "5"),
    ("{{round 19.21}}", "19"),
    ("{{add Metrics.Score 1}}", "21.5"),
    ('{{eq "a 2.5 b" "a 2.5 b" yes="same" no="different"}}', "same"),  # a decimal inside a string stays
    ("{{#unless Attributes.Missing}}none{{/unless}} {{#with Location}}{{City}}{{/with}}", "none Paris"),
    ('{{encode64 "Hello World"}}', "SGVsbG8gV29ybGQ="),
    ('{{decode64 "SGVsbG8gV29ybGQ="}}', "Hello World"),
    ('{{md5 "Hello World"}}', "b10a8db164e0754105b7a99be72e3fe5"),
    ('{{sha256 "Hello World"}}', "a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e"),
    # inline partials and nesting
    (
        '{{#* inline "fullName"}}{{User.UserAttributes.FirstName.[0]}} {{User.UserAttributes.LastName.[0]}}'
        "{{/inline}}Hello {{> fullName}}",
        "Hello Jane Doe",
    ),
    ('{{capitalizeFirst (lower "JANE")}}', "Jane"),
    # variables
    ("{{User.UserAttributes.FirstName}}", "Jane"),
    ("{{User.UserAttributes.[Last Name].[0]}}", "Doe"),
    ("{{Attributes.Colors}}", "red,blue"),
    ("{{Attributes.Colors.[1]}}", "blue"),
    ("{{Address}} {{ChannelType}} {{Id}} {{OptOut}} {{User.UserId}} {{Demographic.Platform}}", None),
    ("Hi {{User.UserAttributes.Nickname}}, score {{Attributes.Colors.[5]}}!", "Hi , score !"),
]


@pytest.mark.parametrize(("source", "expected"), GOLDEN)
def test_the_user_guide_examples_render_as_documented(source: str, expected: str | None) -> None:
    if expected is None:
        expected = "jane@example.com EMAIL ep-1 NONE u-1 ios"
    assert render(source, JANE) == expected


def test_sha512_is_128_hex_digits_and_uuid_a_v4() -> None:
    assert re.fullmatch(r"[0-9a-f]{128}", render('{{sha512 "Hello World"}}', {}))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", render("{{uuid}}", {}))


def test_double_braces_escape_html_and_triple_braces_do_not() -> None:
    values = {"v": '<b>Tom & "Jerry"</b>'}
    assert render("{{v}}", values) == "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"
    assert render("{{{v}}}", values) == '<b>Tom & "Jerry"</b>'


def test_now_formats_the_current_date() -> None:
    today = datetime.now(UTC)
    assert render('{{now "yyyy"}}', {}) in {str(today.year), str(today.year + 1)}


def test_each_iterates_at_most_fifteen_items() -> None:
    values = variables(None, None, {"Items": [str(i) for i in range(20)]}, {})
    assert render("{{#each Items}}{{this}},{{/each}}", values) == "".join(f"{i}," for i in range(15))


def test_defaults_fill_missing_values_and_lose_to_the_endpoint_and_the_message() -> None:
    endpoint = Endpoint(
        id="e",
        application_id="a",
        creation_date="",
        cohort_id="1",
        effective_date="",
        user=EndpointUser(user_attributes={"FirstName": ["Ana"]}),
    )
    defaults = {"User.UserAttributes.FirstName": "there", "User.UserAttributes.City": "your city", "Promo": "NONE"}
    values = variables(endpoint, "e", {"Promo": ["SPRING"]}, defaults)
    assert render("{{User.UserAttributes.FirstName}} {{User.UserAttributes.City}} {{Promo}}", values) == (
        "Ana your city SPRING"
    )
    assert render("{{User.UserAttributes.FirstName}}", variables(None, None, {}, defaults)) == "there"
    subst = variables(endpoint, "e", {"User.UserAttributes.FirstName": ["Bea"]}, defaults)
    assert render("{{User.UserAttributes.FirstName}}", subst) == "Bea"


def test_address_only_recipients_have_just_their_substitutions() -> None:
    values = variables(None, None, {"Name": ["Zoë", "Z"]}, {})
    assert render("{{Name}}|{{Name.[0]}}|{{Address}}", values) == "Zoë,Z|Zoë|"


def test_a_template_that_does_not_parse_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="could not be parsed"):
        render("{{#if x}}a{{/each}}", {})


def test_compiled_templates_are_cached_by_source() -> None:
    source = "cached {{x}} " + str(id(object()))
    first = rendering._cache.get(source)
    assert rendering._cache.get(source) is first
    assert render(source, {"x": 1}).startswith("cached 1")


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache = rendering._Cache(2)
    a = cache.get("{{a}}")
    cache.get("{{b}}")
    cache.get("{{a}}")
    cache.get("{{c}}")  # evicts b, the least recently used
    assert cache.get("{{a}}") is a
    assert list(cache._items) == ["{{c}}", "{{a}}"]


def test_attribute_lists_print_comma_joined_and_index_past_the_end_is_missing() -> None:
    values = AttributeList(["a", "b"])
    assert str(values) == "a,b"
    assert values["1"] == "b"
    assert values["2"] is None
    assert values["x"] is None


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "2024-03-05T07:08:09.120+0000"),
        ("EEEE, MMMM d, yyyy h:mm a", "Tuesday, March 5, 2024 7:08 AM"),
        ("short", "3/5/24"),
        ("medium", "Mar 5, 2024"),
        ("dd/MM/yy 'at' HH'h'", "05/03/24 at 07h"),
        ("D u", "65 2"),
    ],
)
def test_java_date_patterns(pattern: str, expected: str) -> None:
    assert format_date(datetime(2024, 3, 5, 7, 8, 9, 120000, tzinfo=UTC), pattern) == expected


def test_dates_parse_with_java_patterns_iso_and_epoch_millis() -> None:
    assert parse_date("15/03/2024 10:30", "dd/MM/yyyy HH:mm") == datetime(2024, 3, 15, 10, 30)
    assert parse_date("2024-03-15T10:30:00Z", None) == datetime(2024, 3, 15, 10, 30, tzinfo=UTC)
    assert parse_date("0", None) == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_date("not a date", None) is None
    assert render('{{dateFormat "soon"}}', {}) == "soon"  # not a date: printed as it is


def test_an_endpoint_is_shaped_exactly_as_codec_dump_shapes_it() -> None:
    assert shape(ENDPOINT) == dump(ENDPOINT)
    assert isinstance(shape(ENDPOINT)["User"]["UserAttributes"]["FirstName"], AttributeList)
