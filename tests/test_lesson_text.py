"""Every lesson notebook teaches the same way: the original beside the run, a prediction before
training, captions under figures, self-checks and model answers, takeaways and the glossary."""

from __future__ import annotations

import re

import nbformat
import pytest

from rsna_workshop.workshop import ORIGINAL_RESULTS, RECIPES
from rsna_workshop.workshop.runner import workshop_notebooks

NOTEBOOKS = workshop_notebooks()
FIGURE_CALL = re.compile(r"(figures|pictures|landscape)\.\w+\(|widgets\.\w+\(|confusion_explorer\(")


def cells(path):
    return nbformat.read(path, as_version=4).cells


def markdown(path) -> str:
    return "\n".join(c.source for c in cells(path) if c.cell_type == "markdown")


def code(path) -> str:
    return "\n".join(c.source for c in cells(path) if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_links_the_glossary_and_ends_with_checks_answers_and_takeaways(path):
    text = markdown(path)
    assert "](../docs/glossary.md)" in text
    assert "## Check yourself" in text and "## Discussion" in text and "## Key takeaways" in text
    checks = text.split("## Check yourself")[1].split("## Key takeaways")[0]
    assert 3 <= checks.count("<details><summary>Answer</summary>") <= 5
    discussion = text.split("## Discussion")[1].split("## Check yourself")[0]
    questions = re.findall(r"^\d+\. ", discussion, flags=re.M)
    assert len(questions) == discussion.count("<summary>A model answer</summary>") >= 2
    assert "**Next:**" in text.split("## Key takeaways")[1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_training_is_preceded_by_a_prediction(path):
    all_cells = cells(path)
    trains = [i for i, c in enumerate(all_cells) if c.cell_type == "code" and re.search(r"^\w+ = train\(", c.source, re.M)]
    prompts = [i for i, c in enumerate(all_cells) if "**Predict first.**" in c.source]
    assert prompts, "no prediction prompt"
    assert all(any(p < t for p in prompts) for t in trains)


@pytest.mark.parametrize("path", NOTEBOOKS[:5], ids=lambda p: p.name)
def test_each_lesson_shows_the_original_beside_the_run(path):
    calls = re.findall(r'against_original\([^)]*ORIGINAL_RESULTS\["([\w-]+)"\]', code(path))
    assert calls and all(name in ORIGINAL_RESULTS and name in RECIPES for name in calls)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_has_a_one_line_caption_next_to_it(path):
    all_cells = cells(path)
    for i, cell in enumerate(all_cells):
        if cell.cell_type == "code" and FIGURE_CALL.search(cell.source):
            following = all_cells[i + 1] if i + 1 < len(all_cells) else None
            shown_by_words = "narration." in cell.source or "comparisons." in cell.source
            assert shown_by_words or (following is not None and following.source.startswith("*Above:")), (
                f"cell {i} draws a figure without a caption: {cell.source[:60]!r}")


def test_notebook_1_credits_the_original_session_the_dataset_and_teachable_machine():
    text = " ".join(markdown(NOTEBOOKS[0]).split())
    for needed in ("RSNA 2021", "How Does AI in Medical Imaging Work?", "Errol Colak", "Felipe C. Kitamura",
                   "Luciano M. Prevedello", "Tara Retson", "Flanders", "RSNA 2019 Brain CT Hemorrhage Challenge",
                   "Teachable Machine"):
        assert needed in text
