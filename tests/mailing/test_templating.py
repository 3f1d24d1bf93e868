import pytest
from django.utils import translation
from django.utils.translation import override

from mailing.mailings.templating import (
    VARIABLES,
    CompiledTemplate,
    TemplateProblem,
    compile_template,
    html_to_text,
    sample_context,
    sanitize_html,
    template_errors,
)

FORBIDDEN_TAGS = {  # name -> example
    "load": "{% load static %}", "include": '{% include "base.html" %}',
    "extends": '{% extends "base.html" %}', "debug": "{% debug %}",
    "ssi": '{% ssi "/etc/passwd" %}', "url": '{% url "home" %}', "csrf_token": "{% csrf_token %}",
    "block": "{% block corps %}x{% endblock %}", "templatetag": "{% templatetag openblock %}",
    "widthratio": "{% widthratio 1 2 3 %}", "now": '{% now "Y" %}', "lorem": "{% lorem %}",
    "cycle": "{% cycle 'a' 'b' %}", "regroup": "{% regroup enfants by classe as groupes %}",
    "spaceless": "{% spaceless %}x{% endspaceless %}", "with": "{% with x=1 %}{% endwith %}",
    "autoescape": "{% autoescape off %}x{% endautoescape %}",
    "filter": "{% filter upper %}x{% endfilter %}",
}


def errors(source):
    with override("en"):
        return template_errors(source)



@pytest.fixture(autouse=True)
def english():
    # The messages are asserted in English (the code's language); French is the catalogue's.
    with translation.override("en"):
        yield

def test_it_renders_the_variables():
    template = compile_template(
        "Bonjour {{ parent.civilite }} {{ parent.nom }}, {{ eleve.prenom|upper }} "
        "({{ eleve.classe }}) – {{ ecole.nom }} ✏️"
    )
    assert isinstance(template, CompiledTemplate)
    assert template.render(sample_context()) == (
        "Bonjour Madame Dubois, LÉA (CM2 B) – École élémentaire Jean-Jaurès ✏️"
    )


def test_it_does_not_escape_plain_text_but_escapes_html():
    context = {"parent": {"nom": "Dupont & <Fils>"}}
    assert compile_template("{{ parent.nom }}").render(context) == "Dupont & <Fils>"
    html = compile_template("<p>{{ parent.nom }}</p>", html=True).render(context)
    assert html == "<p>Dupont &amp; &lt;Fils&gt;</p>"


@pytest.mark.parametrize("name", sorted(FORBIDDEN_TAGS))
def test_it_refuses_forbidden_tags_by_name(name):
    assert f"The tag “{{% {name} %}}” is not allowed." in errors(FORBIDDEN_TAGS[name])
    with pytest.raises(TemplateProblem):
        compile_template(FORBIDDEN_TAGS[name])


@pytest.mark.parametrize("variable", ["eleve.age", "settings.SECRET_KEY", "eleve", "x"])
def test_it_refuses_unknown_variables(variable):
    assert errors(f"Bonjour {{{{ {variable} }}}}") == [
        f"“{{{{ {variable} }}}}” is not a known variable."
    ]


@pytest.mark.parametrize(
    "path", ["eleve.prenom.__class__", "eleve.__dict__", "eleve.prenom.upper", "enfants.0.nom",
             "eleve..prenom"],
)
def test_it_refuses_lookups_beyond_root_attribute(path):
    source = f"{{{{ {path} }}}}"
    assert any(f"“{source}”" in problem for problem in errors(source))
    with pytest.raises(TemplateProblem):
        compile_template(source)


def test_it_does_not_expose_objects_passed_in_the_context():
    class Pupil:
        prenom = "Léa"

        def delete(self):  # pragma: no cover - must never be reachable
            raise AssertionError

    with pytest.raises(TypeError):
        compile_template("{{ eleve.prenom }}").render({"eleve": Pupil()})


@pytest.mark.parametrize("name", ["safe", "pprint", "slice", "escapejs", "nonexistent"])
def test_it_refuses_forbidden_filters(name):
    assert f"The filter “{name}” is not allowed." in errors(f"{{{{ eleve.nom|{name}:'1' }}}}")


def test_it_accepts_and_renders_a_loop_over_children():
    source = (
        "{% for enfant in enfants %}{{ forloop.counter }}. {{ enfant.prenom }} "
        "({{ enfant.classe }}){% if not forloop.last %}, {% endif %}{% empty %}-{% endfor %}"
    )
    assert errors(source) == []
    rendered = compile_template(source).render(sample_context())
    assert rendered == "1. Léa (CM2 B), 2. Noé (CE1 A)"
    assert compile_template(source).render({"enfants": []}) == "-"


def test_it_refuses_a_loop_variable_outside_its_loop():
    problems = errors("{% for enfant in enfants %}{% endfor %}{{ enfant.prenom }}")
    assert len(problems) == 1 and "“{{ enfant.prenom }}” is only available inside" in problems[0]
    assert errors("{% for c in eleve.nom %}{% endfor %}")  # Only list variables can be looped.


@pytest.mark.parametrize(
    "source, token",
    [("{% if %}x{% endif %}", "{% if %}"), ("{% if eleve.nom %}x", "{% if eleve.nom %}"),
     ("Bonjour {{ }}", "{{ }}"), ("{% endfor %}", "{% endfor %}")],
)
def test_it_reports_syntax_errors_without_raising(source, token):
    (problem,) = errors(source)
    assert problem.startswith(f"Syntax error in “{token}” (line 1)")
    with pytest.raises(TemplateProblem) as raised:
        compile_template(source)
    assert raised.value.messages == [problem]


def test_it_reports_every_problem_at_once():
    problems = errors("{% load x %}{{ eleve.age|safe }}{% if parent.x|default:settings.A %}"
                      "{% endif %}")
    assert len(problems) == 5 and "“{{ settings.A }}” is not a known variable." in problems


def test_it_renders_missing_keys_as_empty_strings():
    template = compile_template("[{{ parent.nom }}|{{ eleve.prenom|upper }}|{{ enfants|length }}]")
    assert template.render({}) == "[||0]"
    assert template.render({"parent": {}}) == "[||0]"


def test_it_sanitizes_html():
    cleaned = sanitize_html(
        '<p onclick="steal()" style="x">Hi <a href="javascript:alert(1)">bad</a> '
        '<a href="https://ecole.example.org">site</a><script>alert(1)</script>'
        '<img src="https://example.org/a.png" onerror="x()" alt="logo"></p><iframe></iframe>'
    )
    for dangerous in ("script", "alert", "onclick", "onerror", "javascript:", "style", "iframe"):
        assert dangerous not in cleaned
    assert '<a href="https://ecole.example.org" rel="noopener noreferrer">site</a>' in cleaned
    assert '<img src="https://example.org/a.png" alt="logo">' in cleaned


def test_it_converts_html_to_readable_text():
    text = html_to_text(
        "<h1>Sortie</h1><p>Bonjour&nbsp;Madame &amp; Monsieur,<br>la   sortie\n est prévue.</p>"
        "<ul><li>Pique-nique</li><li>Casquette</li></ul><style>p{}</style>"
        '<p>Voir <a href="https://ecole.example.org">le site</a> 🎒</p>'
    )
    assert text == (
        "Sortie\n\nBonjour\xa0Madame & Monsieur,\nla sortie est prévue.\n\n"
        "- Pique-nique\n- Casquette\n\nVoir le site (https://ecole.example.org) 🎒"
    )


def test_it_offers_a_sample_context_matching_the_variables():
    source = " ".join(f"{{{{ {name} }}}}" for name, _label in VARIABLES if name != "enfants")
    assert "  " not in compile_template(source).render(sample_context())


def _nested_loops(depth: int, body: str = "x") -> str:
    return "{% for enfant in enfants %}" * depth + body + "{% endfor %}" * depth


def test_it_refuses_loops_nested_deeper_than_the_setting(settings):
    settings.MAILING_TEMPLATE_MAX_LOOP_DEPTH = 2
    assert errors(_nested_loops(2, "{{ enfant.prenom }}")) == []
    assert errors(_nested_loops(3, "{{ enfant.prenom }}")) == [
        "Loops may be nested at most 2 deep."]


def test_it_stops_a_nested_loop_bomb_at_the_output_cap_without_building_it(settings):
    # The bomb, scaled down: unchecked, 8 nested loops over 4 children repeat a
    # 100-character line 65,536 times (6.5 MB). The cap stops it as it grows.
    import tracemalloc

    from mailing.mailings.templating import RenderLimitExceeded

    settings.MAILING_RENDER_MAX_BYTES = 10_000
    bomb = CompiledTemplate(_nested_loops(8, "{{ enfant.prenom }}" + "x" * 97))
    context = {"enfants": [{"prenom": "Léa"}] * 4}
    tracemalloc.start()
    try:
        with pytest.raises(RenderLimitExceeded, match="larger than 9.8"):
            bomb.render(context)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # generous: the page was never built


def test_it_stops_rendering_past_the_time_cap():
    from mailing.mailings.templating import RenderBudget, RenderLimitExceeded

    template = compile_template(_nested_loops(2))
    with pytest.raises(RenderLimitExceeded, match="longer than"):
        template.render({"enfants": [{}] * 3}, RenderBudget(max_seconds=-1))


def test_it_shares_one_budget_between_the_parts_of_a_message():
    from mailing.mailings.templating import RenderBudget, RenderLimitExceeded

    budget = RenderBudget(max_bytes=150)
    compile_template("a" * 100).render({}, budget)
    with pytest.raises(RenderLimitExceeded):
        compile_template("b" * 100).render({}, budget)
