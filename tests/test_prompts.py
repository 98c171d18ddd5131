"""The shipped prompt templates: loadable, consistent, strict about their variables."""

from __future__ import annotations

import string

import pytest

from prompts import ABSTAIN_PHRASE, Prompt, PromptError, list_prompts, load_prompt


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def test_expected_prompts_are_shipped():
    assert {"answer_system", "answer_user", "condense"} <= set(list_prompts())


@pytest.mark.parametrize("name", list_prompts())
def test_every_prompt_renders_with_its_declared_variables(name):
    prompt = load_prompt(name)
    assert prompt.name == name
    assert prompt.variables, "every template takes at least one variable"
    assert set(prompt.variables) == _placeholders(prompt.template)
    values = {v: f"<{v} value>" for v in prompt.variables}
    text = prompt.render(**values)
    for value in values.values():
        assert value in text
    assert "{" not in text.replace("{{", "")


@pytest.mark.parametrize("name", list_prompts())
def test_missing_variable_raises(name):
    prompt = load_prompt(name)
    values = {v: "x" for v in prompt.variables[1:]}
    with pytest.raises(PromptError, match=prompt.variables[0]):
        prompt.render(**values)


def test_unknown_variable_raises():
    prompt = load_prompt("condense")
    with pytest.raises(PromptError, match="unknown"):
        prompt.render(history="h", question="q", extra="e")


def test_undeclared_placeholder_is_rejected():
    with pytest.raises(PromptError, match="undeclared"):
        Prompt(name="bad", template="Hello {name} and {other}", variables=("name",))
    with pytest.raises(PromptError, match="unused"):
        Prompt(name="bad", template="Hello", variables=("name",))


def test_values_with_braces_are_not_reparsed():
    text = load_prompt("condense").render(history="{question}", question="a {b} c")
    assert "{question}" in text and "a {b} c" in text


def test_unknown_prompt_name():
    with pytest.raises(PromptError, match="no prompt named"):
        load_prompt("nope")


def test_abstain_phrase_is_shared_with_the_answer_prompt():
    assert ABSTAIN_PHRASE == "The indexed articles don't cover this."
    assert "abstain_phrase" in load_prompt("answer_system").variables
    system = load_prompt("answer_system").render(abstain_phrase=ABSTAIN_PHRASE)
    assert ABSTAIN_PHRASE in system


def test_answer_prompts_state_the_rules():
    system = load_prompt("answer_system").render(abstain_phrase=ABSTAIN_PHRASE).lower()
    assert "only" in system and "passages" in system
    assert "[1]" in system
    assert "not instructions" in system
    assert set(load_prompt("answer_user").variables) == {"passages", "history", "question"}
