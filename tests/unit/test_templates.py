"""Campaign step templates: merge fields from a contact, fallbacks, placeholders, the sandbox's
limits, and refusing to send a template that is broken for a contact."""

from __future__ import annotations

import html as html_entities
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from outreach.campaigns.templates.fields import CONTACT_FIELDS, is_blank, merge_fields, slug
from outreach.campaigns.templates.normalising import normalise_subject, normalise_text
from outreach.campaigns.templates.placeholders import find_placeholders
from outreach.campaigns.templates.rendering import (
    Rendered,
    TemplateProblem,
    as_read,
    check_syntax,
    problems_for,
    render,
    render_preview,
)
from outreach.campaigns.templates.sandbox import RANGE_LIMIT
from outreach.errors import ValidationFailed
from tests.hypothesis_profiles import examples

SOME = settings(
    max_examples=examples(in_ci=300), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def contact(**fields: str | None) -> dict[str, str | None]:
    """Ada's contact fields, with some replaced."""
    base: dict[str, str | None] = dict.fromkeys(CONTACT_FIELDS)
    base.update(
        email="ada@example.com",
        name="Ada Lovelace",
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        title="CTO",
        timezone="Europe/London",
        website="https://engines.example",
    )
    base.update(fields)
    return base


def fields_of(
    raw: dict[str, object] | None = None, **contact_fields: str | None
) -> dict[str, object]:
    return merge_fields(contact(**contact_fields), raw or {})


def body_problems(body: str, fields: dict[str, object]) -> list[TemplateProblem]:
    return problems_for("Hello", body, None, fields)


def text_of(body: str, fields: dict[str, object]) -> str:
    return render("Hello", body, None, fields).text


# --- merge fields -----------------------------------------------------------------------------


def test_raw_columns_become_merge_fields_under_their_slugs() -> None:
    fields = fields_of({"City": "London", "Annual Revenue ($)": "5M", "Job Title": "CTO"})

    assert fields["city"] == "London"
    assert fields["annual_revenue"] == "5M"
    assert fields["job_title"] == "CTO"
    assert text_of("Hiring in {{ city }}, {{ annual_revenue }} a year.", fields) == (
        "Hiring in London, 5M a year."
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("City", "city"),
        ("Annual Revenue ($)", "annual_revenue"),
        ("E-mail Address", "e_mail_address"),
        ("Job Title", "job_title"),
        ("  first   name ", "first_name"),
        ("LinkedIn URL", "linkedin_url"),
        ("Ville (Région)", "ville_region"),
        ("Straße", "strasse"),
        ("2023 Revenue", "_2023_revenue"),
        ("#", ""),
        ("名前", ""),
    ],
)
def test_slugs_of_typical_headers(header: str, expected: str) -> None:
    assert slug(header) == expected


@given(st.text(max_size=40))
@SOME
def test_a_slug_is_a_template_name_or_nothing_and_slugging_it_again_changes_nothing(
    header: str,
) -> None:
    name = slug(header)

    assert name == "" or (name.isidentifier() and name.isascii() and name == name.lower())
    assert not name.startswith("__")
    assert slug(name) == name


def test_a_slug_that_would_start_with_a_digit_gets_a_leading_underscore() -> None:
    fields = fields_of({"2023 Revenue": "4M"})

    assert text_of("Revenue: {{ _2023_revenue }}", fields) == "Revenue: 4M"


def test_the_contacts_own_fields_win_over_a_column_with_the_same_slug() -> None:
    fields = fields_of({"Company": "Column Ltd", "Title": "Column title"}, title=None)

    assert fields["company"] == "Analytical Engines"
    assert fields["title"] is None, "the mapping said which column is the title"
    assert text_of('{{ company }} / {{ raw["Company"] }}', fields) == (
        "Analytical Engines / Column Ltd"
    )


def test_the_first_column_with_a_value_wins_a_shared_slug() -> None:
    assert fields_of({"City": "London", "city ": "Paris"})["city"] == "London"
    assert fields_of({"City": " ", "city ": "Paris"})["city"] == "Paris"


def test_reserved_names_and_headers_without_a_slug_are_reached_through_raw() -> None:
    fields = fields_of({"Range": "50-200", "Raw": "yes", "名前": "エイダ", "Not": "n"})

    assert "range" not in fields
    assert "not" not in fields
    assert fields["raw"] == {"Range": "50-200", "Raw": "yes", "名前": "エイダ", "Not": "n"}
    assert text_of('{{ raw["Range"] }} {{ raw["名前"] }} {{ range(2) | list }}', fields) == (
        "50-200 エイダ [0, 1]"
    )


def test_merge_fields_keep_none_as_none() -> None:
    fields = fields_of({"City": None}, company=None)

    assert fields["company"] is None
    assert fields["city"] is None
    assert fields["raw"] == {"City": None}


def test_raw_gives_the_original_columns_by_their_headers() -> None:
    fields = fields_of({"Annual Revenue ($)": "5M"})

    assert text_of(
        '{{ raw["Annual Revenue ($)"] }} / {{ raw.get("Annual Revenue ($)") }}', fields
    ) == ("5M / 5M")


# --- fallbacks, empty and missing fields ----------------------------------------------------


@pytest.mark.parametrize("first_name", ["", None, "   ", "\t\n", "\u200b"])
def test_a_fallback_fills_an_empty_first_name(first_name: str | None) -> None:
    fields = fields_of(first_name=first_name)

    assert text_of('Hi {{ first_name | default("there") }},', fields) == "Hi there,"
    assert text_of('Hi {{ first_name | d("there") }},', fields) == "Hi there,"


def test_a_fallback_keeps_a_real_value() -> None:
    assert text_of('Hi {{ first_name | default("there") }},', fields_of()) == "Hi Ada,"


def test_an_if_guard_leaves_out_what_an_empty_company_would_break() -> None:
    body = "Hi Ada,\n{% if company %}\nSaw {{ company }} is hiring.\n{% endif %}\nBest"

    assert text_of(body, fields_of(company="")) == "Hi Ada,\nBest"
    assert text_of(body, fields_of()) == "Hi Ada,\nSaw Analytical Engines is hiring.\nBest"


@pytest.mark.parametrize(
    "body",
    [
        '{{ company or "your team" }}',
        '{{ company if company else "your team" }}',
        "{% if company is defined %}{{ company }}{% else %}your team{% endif %}",
        "{% if not company %}your team{% endif %}",
    ],
)
def test_other_guards_are_fallbacks_too(body: str) -> None:
    assert text_of(body, fields_of(company=None)) == "your team"


def test_a_typo_is_a_problem_naming_the_field() -> None:
    problems = body_problems("Saw {{ compnay }} is hiring.", fields_of())

    assert problems == [
        TemplateProblem(
            field="compnay",
            part="body",
            message="uses {{ compnay }}, which is not a merge field; the nearest is {{ company }}",
        )
    ]


def test_a_column_written_as_its_header_names_its_merge_field() -> None:
    fields = merge_fields({"email": "ada@analytical.example"}, {"City": "London"})

    [problem] = body_problems("How is {{ City }}?", fields)

    assert (
        problem.message == "uses {{ City }}, which is not a merge field; the nearest is {{ city }}"
    )


def test_a_name_like_no_field_is_only_said_to_be_missing() -> None:
    [problem] = body_problems("Hi {{ zzz }}", fields_of())

    assert problem.message == (
        "uses {{ zzz }}, which is not a merge field (misspelt?) and has no default"
    )


def test_a_column_another_upload_has_is_fine_with_a_default() -> None:
    """Contacts from different uploads carry different columns; the default says so."""
    body = (
        'Hiring in {{ city | default("your area") }}{% if industry %} ({{ industry }}){% endif %}.'
    )

    assert text_of(body, fields_of()) == "Hiring in your area."
    assert text_of(body, fields_of({"City": "Leeds", "Industry": "Looms"})) == (
        "Hiring in Leeds (Looms)."
    )


def test_an_empty_field_without_a_fallback_is_a_problem_naming_the_field_and_the_part() -> None:
    problems = problems_for(
        "About {{ company }}", "Hi {{ first_name }}", None, fields_of(company=" ")
    )

    assert problems == [
        TemplateProblem(
            field="company",
            part="subject",
            message="uses {{ company }}, which is empty for this contact and has no default",
        )
    ]


def test_every_faulty_field_of_a_part_is_reported_at_once() -> None:
    problems = body_problems(
        "{{ first_name }} at {{ company }} in {{ city }} ({{ title | upper }})",
        fields_of({"City": ""}, first_name=None, title=""),
    )

    assert [(problem.field, problem.part) for problem in problems] == [
        ("first_name", "body"),
        ("city", "body"),
        ("title", "body"),
    ]


def test_an_empty_or_absent_raw_column_is_named_as_written() -> None:
    problems = body_problems(
        '{{ raw["Annual Revenue ($)"] }} {{ raw["Cty"] }}', fields_of({"Annual Revenue ($)": None})
    )

    assert problems == [
        TemplateProblem(
            'raw["Annual Revenue ($)"]',
            "body",
            'uses {{ raw["Annual Revenue ($)"] }}, which is empty for this contact and has no default',
        ),
        TemplateProblem(
            'raw["Cty"]',
            "body",
            'uses {{ raw["Cty"] }}, which is not a column of this contact and has no default',
        ),
    ]
    assert text_of('{{ raw["Cty"] | default("-") }}', fields_of()) == "-"


def test_a_filter_before_the_fallback_sees_the_empty_value() -> None:
    fields = fields_of(company="")

    assert [p.field for p in body_problems('{{ company | upper | default("x") }}', fields)] == [
        "company"
    ]
    assert text_of('{{ company | default("x") | upper }}', fields) == "X"


def test_nan_from_a_spreadsheet_counts_as_empty() -> None:
    fields = fields_of({"Employees": float("nan")})

    assert is_blank(float("nan"))
    assert not is_blank(0)
    assert text_of('{{ employees | default("a few") }}', fields) == "a few"
    assert [p.field for p in body_problems("{{ employees }}", fields)] == ["employees"]


# --- syntax -----------------------------------------------------------------------------------


def test_a_parse_error_names_the_part_and_the_line() -> None:
    problems = check_syntax("Hello", "Hi,\nsee {{ company }\n}}")

    assert problems == [TemplateProblem(None, "body", 'does not parse: unexpected "}" on line 2')]


def test_check_syntax_does_not_judge_fields() -> None:
    assert check_syntax("{{ compnay }}", "{{ first_name }}", "<p>{{ nope }}</p>") == []


def test_unknown_filters_and_tests_are_found_before_any_contact() -> None:
    problems = check_syntax(
        "Hello", "{% if company %}{{ company | shout }}{% endif %}", "{{ x is big }}"
    )

    assert [(p.part, p.message) for p in problems] == [
        ("body", 'does not parse: there is no filter "shout" on line 1'),
        ("html", 'does not parse: there is no test "big" on line 1'),
    ]


def test_include_and_import_are_refused() -> None:
    problems = check_syntax('{% include "x.txt" %}', '{% import "macros" as m %}')

    assert [p.message for p in problems] == [
        "uses {% include %} on line 1, which campaign templates cannot",
        "uses {% import %} on line 1, which campaign templates cannot",
    ]


def test_a_template_nested_too_deeply_is_a_problem_not_a_crash() -> None:
    brackets = "{{ " + "(" * 1000 + "company" + ")" * 1000 + " }}"
    blocks = "{% if company %}" * 500 + "x" + "{% endif %}" * 500

    assert check_syntax(brackets, blocks) == [
        TemplateProblem(None, "subject", "is nested too deeply to read"),
        TemplateProblem(None, "body", "is nested too deeply to read"),
    ]


def test_a_part_that_does_not_parse_is_a_problem_of_rendering_too() -> None:
    with pytest.raises(ValidationFailed) as raised:
        render("Hi {{ first_name", "Body", None, fields_of())

    assert raised.value.details["problems"] == [
        {
            "field": None,
            "part": "subject",
            "message": 'does not parse: unexpected end of template, expected "end of print statement" on line 1',
        }
    ]


# --- placeholders -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("Hi [Name],", "[Name]"),
        ("I love what [Company] does", "[Company]"),
        ("Hi [FIRST NAME],", "[FIRST NAME]"),
        ("Hi [your name],", "[your name]"),
        ("Hi [first_name],", "[first_name]"),
        ("Working as [Job Title]?", "[Job Title]"),
        ("Hi {first_name},", "{first_name}"),
        ("Hi { First Name },", "{ First Name }"),
        ("Hi {{first_name}},", "{{first_name}}"),
        ("Hi {{ first_name | default('x') }},", "{{ first_name | default('x') }}"),
        ("{% if company %}Hi", "{% if company %}"),
        ("Hi <FIRST_NAME>,", "<FIRST_NAME>"),
        ("Hi <NAME>,", "<NAME>"),
        ("Hi <first_name>,", "<first_name>"),
        ("Hi <<Name>>,", "<<Name>>"),
        ("Hi %FIRSTNAME%,", "%FIRSTNAME%"),
        ("Hi %first_name%,", "%first_name%"),
        ("Hi ***,", "***"),
        ("Hi [[Name]],", "[Name]"),
    ],
)
def test_placeholders_left_in_the_text_are_found(text: str, placeholder: str) -> None:
    assert find_placeholders(text) == [placeholder]


@pytest.mark.parametrize(
    "text",
    [
        "As shown in the study [1], and again [12].",
        "He said it was [sic] final.",
        "- [x] done\n- [ ] to do",
        "See [the report](https://example.com/report) and [Our Pricing](https://x.io).",
        "Quoting loosely [...] here.",
        "[Quick question] about hiring",
        "50% off, then 20% more",
        "https://example.com/?q=%E2%80%99s%20plan%EF%BB%BF",
        "Use <b>bold</b>, <BR> and <P>, a <TITLE> too.",
        "a <= b and c >= d, x -> y",
        "An empty {} and CSS .x { color: red }",
        "Chapter one\n***\nChapter two\n* * *\nThe end",
        "***Really*** important, 2 ** 3",
        "Email me at ada@example.com, or call +44 20 7946 0000.",
    ],
)
def test_ordinary_brackets_and_symbols_are_not_placeholders(text: str) -> None:
    assert find_placeholders(text) == []


def test_a_placeholder_in_the_template_is_a_problem() -> None:
    problems = problems_for(
        "Quick question, [Name]", "Hi [Name],\nLove {{ company }}.", None, fields_of()
    )

    assert problems == [
        TemplateProblem(None, "subject", 'leaves the placeholder "[Name]"'),
        TemplateProblem(None, "body", 'leaves the placeholder "[Name]"'),
    ]


def test_a_placeholder_in_contact_data_is_a_problem_too() -> None:
    problems = body_problems("Hi {{ first_name }},", fields_of(first_name="{FirstName}"))

    assert problems == [TemplateProblem(None, "body", 'leaves the placeholder "{FirstName}"')]


def test_escaped_placeholders_in_html_are_found() -> None:
    problems = problems_for(
        "Hi", "Hi", "<p>Hi {{ first_name }}</p>", fields_of(first_name="<NAME>")
    )

    assert problems == [TemplateProblem(None, "html", 'leaves the placeholder "<NAME>"')]


# --- HTML and text ----------------------------------------------------------------------------


def test_html_escapes_contact_values_but_text_does_not() -> None:
    fields = fields_of(company='Smith & Sons <script>alert("x")</script>')

    rendered = render(
        "About {{ company }}", "At {{ company }}", "<p>At <b>{{ company }}</b></p>", fields
    )

    assert rendered.subject == 'About Smith & Sons <script>alert("x")</script>'
    assert rendered.text == 'At Smith & Sons <script>alert("x")</script>'
    assert rendered.html == (
        "<p>At <b>Smith &amp; Sons &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</b></p>"
    )


def test_the_html_body_cannot_mark_contact_data_safe() -> None:
    assert check_syntax("Hi", "Hi", "{{ company | safe }}") == [
        TemplateProblem(None, "html", 'does not parse: there is no filter "safe" on line 1')
    ]


# --- the sandbox ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ ''.__class__ }}", 'reaches for "__class__" on line 1, which templates may not do'),
        (
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            'reaches for "__class__" on line 1, which templates may not do',
        ),
        ("{{ ''['__class__'] }}", 'reaches for "__class__" on text, which templates may not do'),
        (
            "{% if company['__class__'] %}x{% endif %}",
            'reaches for "__class__" on text, which templates may not do',
        ),
        (
            "{{ company | attr('__class__') }}",
            'reaches for "__class__" on text, which templates may not do',
        ),
        (
            "{{ cycler.__init__.__globals__ }}",
            'reaches for "__init__" on line 1, which templates may not do',
        ),
        (
            "{{ '{0.__class__}'.format(1) }}",
            'reaches for "format" on text, which templates may not do',
        ),
        (
            "{{ '%s' % company }}",
            'uses "%" to format text, which templates may not do; use filters',
        ),
        ("{{ raw.clear() }}", 'reaches for "clear" on raw, which templates may not do'),
        (
            "{{ company.center(10 ** 9) }}",
            'reaches for "center" on text, which templates may not do',
        ),
        (
            "{{ (1).to_bytes(10 ** 9, 'big') }}",
            'reaches for "to_bytes" on a number, which templates may not do',
        ),
    ],
)
def test_escapes_from_the_sandbox_are_problems_not_crashes(body: str, message: str) -> None:
    assert body_problems(body, fields_of()) == [TemplateProblem(None, "body", message)]


def test_lipsum_and_random_are_not_offered() -> None:
    problems = body_problems("{{ lipsum(1000) }} {{ [1, 2] | random }}", fields_of())

    assert [p.message for p in problems] == [
        'does not parse: there is no filter "random" on line 1'
    ]
    assert [p.message for p in body_problems("{{ lipsum(1000) }}", fields_of())] == [
        "uses {{ lipsum }}, which is not a merge field (misspelt?) and has no default"
    ]


def test_a_huge_range_is_refused_quickly() -> None:
    started = time.perf_counter()

    problems = body_problems("{% for i in range(10**9) %}x{% endfor %}", fields_of())

    assert time.perf_counter() - started < 2
    assert problems == [
        TemplateProblem(None, "body", f"asks range() for more than {RANGE_LIMIT:,} numbers")
    ]
    assert text_of("{% for i in range(3) %}{{ i }}{% endfor %}", fields_of()) == "012"


@pytest.mark.parametrize(
    "body",
    [
        "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        "{% set x %}{% for i in range(1000) %}{% for j in range(1000) %}ten chars!{% endfor %}"
        "{% endfor %}{% endset %}{{ x | length }}",
        "{% macro a() %}{% for i in range(1000) %}x{% endfor %}{% endmacro %}"
        "{% macro b() %}{% for i in range(1000) %}{{ a() }}{% endfor %}{% endmacro %}{{ b() }}",
    ],
)
def test_work_runs_out_of_budget_instead_of_hanging(body: str) -> None:
    started = time.perf_counter()

    problems = body_problems(body, fields_of())

    assert time.perf_counter() - started < 5
    assert [p.message for p in problems] == [
        "is too much work to render: it goes past 1,000,000 steps"
        " (loop rounds, calls and characters written)"
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ 'x' * 10**9 }}", "builds a value longer than 100,000 characters"),
        ("{{ [1] * 10**9 }}", "builds a value longer than 100,000 characters"),
        (
            "{{ company | replace('', 'x' * 90000) }}",
            "builds a value longer than 100,000 characters",
        ),
        (
            "{% set s = 'xxxxxxxxxx' %}" + "{% set s = s ~ s %}" * 20 + "{{ s | length }}",
            "builds a value longer than 100,000 characters",
        ),
        ("{{ 9 ** (9 ** 9) }}", "computes a number too large for a template"),
        (
            "{{ company | indent(10 ** 6) }}",
            'gives "indent" the number 1,000,000; the limit is 10,000',
        ),
        (
            "{{ range(5) | batch(10 ** 9, 'x') | list }}",
            'gives "batch" the number 1,000,000,000; the limit is 10,000',
        ),
    ],
)
def test_values_cannot_grow_without_bound(body: str, message: str) -> None:
    assert [p.message for p in body_problems(body, fields_of())] == [message]


def test_a_macro_calling_itself_is_a_problem() -> None:
    problems = body_problems("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", fields_of())

    assert [p.message for p in problems] == ["cannot be rendered: a macro calls itself without end"]


def test_a_runtime_error_in_the_template_is_a_problem() -> None:
    assert body_problems("{{ 1 / 0 }}", fields_of()) == [
        TemplateProblem(None, "body", "cannot be rendered: division by zero")
    ]


# --- output -----------------------------------------------------------------------------------


def test_subject_newlines_collapse_to_one_line() -> None:
    rendered = render(
        "  Quick question,\n{{ first_name }}\r\n about\t{{ company }}  ", "Hi", None, fields_of()
    )

    assert rendered.subject == "Quick question, Ada about Analytical Engines"


def test_the_body_is_tidied() -> None:
    body = "\n\n  \nHi {{ first_name }},   \n\n\n\n\n  Indented line  \r\nBest,\t\n\n\n"

    assert text_of(body, fields_of()) == "Hi Ada,\n\n\n  Indented line\nBest,"


def test_normalising_leaves_two_blank_lines_and_inner_spacing() -> None:
    assert normalise_text("a\n\n\nb") == "a\n\n\nb"
    assert normalise_text("a\n\n\n\n\nb") == "a\n\n\nb"
    assert normalise_text("  a  b  ") == "  a  b"
    assert normalise_subject(" a \n b\u2028c ") == "a b c"


def test_none_is_never_written() -> None:
    assert body_problems("{{ none }} and {{ raw.get('Nope') }}", fields_of()) == [
        TemplateProblem(None, "body", 'writes "None" where a value should be')
    ]
    assert body_problems("{{ 'a' ~ none }}", fields_of()) == [
        TemplateProblem(None, "body", 'writes "None" where a value should be')
    ]


def test_an_empty_subject_or_body_is_a_problem() -> None:
    problems = problems_for(
        "{% if company %}{{ company }}{% endif %}", "  \n ", None, fields_of(company=None)
    )

    assert problems == [
        TemplateProblem(None, "subject", "is empty once rendered"),
        TemplateProblem(None, "body", "is empty once rendered"),
    ]


# --- render -----------------------------------------------------------------------------------


def test_render_gives_the_email_for_a_contact() -> None:
    fields = fields_of({"City": "London"}, first_name="")

    rendered = render(
        'Quick question, {{ first_name | default("there") }}',
        'Hi {{ first_name | default("there") }},\n\n{% if company %}\nSaw {{ company }} is hiring in {{ city }}.\n{% endif %}\n\nBest,\nBob\n',
        "<p>Hi {{ first_name | default('there') }},</p>",
        fields,
    )

    assert rendered == Rendered(
        subject="Quick question, there",
        text="Hi there,\n\nSaw Analytical Engines is hiring in London.\n\nBest,\nBob",
        html="<p>Hi there,</p>",
    )


def test_render_refuses_with_every_problem_in_the_details() -> None:
    with pytest.raises(ValidationFailed) as raised:
        render("About {{ company }}", "Hi [Name], {{ compnay }}", None, fields_of(company=""))

    assert raised.value.details["problems"] == [
        {
            "field": "company",
            "part": "subject",
            "message": "uses {{ company }}, which is empty for this contact and has no default",
        },
        {
            "field": "compnay",
            "part": "body",
            "message": "uses {{ compnay }}, which is not a merge field; the nearest is {{ company }}",
        },
        {"field": None, "part": "body", "message": 'leaves the placeholder "[Name]"'},
    ]
    assert raised.value.message.startswith(
        "The subject uses {{ company }}, which is empty for this contact and has no default."
    )


def test_a_preview_shows_faulty_fields_as_an_ellipsis() -> None:
    rendered, problems = render_preview(
        "Hi {{ first_name }}", "At {{ company }}", None, fields_of(first_name=None)
    )

    assert rendered == Rendered(subject="Hi …", text="At Analytical Engines", html=None)
    assert [p.field for p in problems] == ["first_name"]


def test_a_good_template_has_no_problems() -> None:
    assert (
        problems_for("Hi {{ first_name }}", "At {{ company }}", "<p>{{ title }}</p>", fields_of())
        == []
    )


# --- any contact --------------------------------------------------------------------------------

TRICKY = st.sampled_from(
    [
        "",
        " ",
        "\t\n",
        "\u200b",
        "None",
        "{{",
        "}}",
        "{%",
        "%}",
        "{{ 7 * 7 }}",
        "{% if true %}yes{% endif %}",
        "{{ ''.__class__ }}",
        "{first_name}",
        "[Name]",
        "[1]",
        "<b>&amp;</b>",
        "x\n\n\n\n\ny  ",
        'O\'Brien "Jr"',
    ]
)
SYMBOLS = st.lists(
    st.sampled_from(
        [
            "{{",
            "}}",
            "{%",
            "%}",
            "{",
            "}",
            "[",
            "]",
            "<",
            ">",
            "%",
            "*",
            " ",
            "\n",
            "a",
            "Name",
            "é",
            "'",
            '"',
            "\\",
        ]
    ),
    max_size=8,
).map("".join)
VALUES = st.one_of(st.none(), st.text(max_size=20), TRICKY, SYMBOLS)
HEADERS = st.one_of(
    st.sampled_from(
        [
            "City",
            "Job Title",
            "E-mail Address",
            "Annual Revenue ($)",
            "2023 Revenue",
            "名前",
            "Range",
            "Company",
        ]
    ),
    st.text(min_size=1, max_size=12),
)


def shown(value: object) -> str:
    return "x" if is_blank(value) else str(value)


@given(
    contact_fields=st.fixed_dictionaries(dict.fromkeys(CONTACT_FIELDS, VALUES)),
    raw=st.dictionaries(HEADERS, VALUES, max_size=5),
)
@example(contact_fields=dict.fromkeys(CONTACT_FIELDS), raw={"City": None})
@example(contact_fields=dict.fromkeys(CONTACT_FIELDS, "{{ email }}"), raw={"{{": "{% raw %}"})
@SOME
def test_defaults_let_any_contact_render_exactly_and_data_is_never_evaluated(
    contact_fields: dict[str, str | None], raw: dict[str, object]
) -> None:
    fields = merge_fields(contact_fields, raw)
    names = [name for name in fields if name != "raw"]
    uses = [f'{{{{ {name} | default("x") }}}}' for name in names]
    uses += [f'{{{{ raw[{header!r}] | default("x") }}}}' for header in raw]
    values = [fields[name] for name in names] + list(raw.values())
    template = " | ".join(uses)

    rendered, problems = render_preview(template, template, template, fields)

    text = " | ".join(shown(value) for value in values)
    markup = " | ".join(str(escape(shown(value))) for value in values)
    assert rendered == Rendered(
        subject=normalise_subject(text), text=normalise_text(text), html=normalise_text(markup)
    )
    expected_problems = [
        TemplateProblem(None, part, f'leaves the placeholder "{placeholder}"')
        for part, output in (
            ("subject", rendered.subject),
            ("body", rendered.text),
            ("html", html_entities.unescape(rendered.html or "")),
        )
        for placeholder in find_placeholders(output)
    ]
    assert problems == expected_problems, "only data that looks like a placeholder is refused"
    if not any("None" in shown(value) for value in values):
        assert "None" not in rendered.text
    if not any("{{" in shown(value) for value in values):
        assert "{{" not in rendered.text
    if not problems:
        assert render(template, template, template, fields) == rendered


@given(
    st.sampled_from(
        ["{{ 7 * 7 }}", "{{ email }}", "{% for i in range(3) %}x{% endfor %}", "{{ ''.__class__ }}"]
    )
)
def test_contact_data_that_looks_like_a_template_is_written_as_it_is(value: str) -> None:
    rendered, problems = render_preview(
        "Hi", "Hi {{ first_name }}!", None, fields_of(first_name=value)
    )

    assert rendered.text == f"Hi {value}!"
    assert problems == [
        TemplateProblem(None, "body", f'leaves the placeholder "{placeholder}"')
        for placeholder in find_placeholders(value)
    ]
    assert problems, "it looks like template syntax left in the email"


@pytest.mark.parametrize(
    ("template", "read"),
    [
        (
            "Hello from {{ company | default('us') }}, {{ first_name }}",
            "Hello from [company], [first_name]",
        ),
        (
            '{{ raw["Annual Revenue ($)"] }} in {% if city %}{{ city|title }}{% endif %}',
            "[Annual Revenue ($)] in [city]",
        ),
        ("{{- 'x' ~ y -}} then {# a note #}\n  more", "[…] then more"),
        ("No fields at all", "No fields at all"),
    ],
)
def test_a_template_reads_in_a_table_as_the_fields_it_uses(template, read):
    assert as_read(template) == read
