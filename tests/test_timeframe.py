"""Time in questions, pinned against a fixed "now" (bot/timeframe.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.timeframe import TimeFrame, long_date, read_time

NOW = date(2025, 3, 1)  # a Saturday


def window(question: str, now: date = NOW) -> tuple[date | None, date | None]:
    frame = read_time(question, now)
    return frame.since, frame.until


# --- explicit windows ------------------------------------------------------------------------


def test_month_of_a_year_is_the_whole_month():
    frame = read_time("What happened in March 2024?", NOW)
    assert (frame.since, frame.until) == (date(2024, 3, 1), date(2024, 3, 31))
    assert frame.spans == ("in March 2024",)
    assert frame.events == ()
    assert frame.windowed
    assert frame.describe() == "in March 2024"


def test_february_of_a_leap_year_ends_on_the_29th():
    assert window("What did the court decide in February 2024?") == (
        date(2024, 2, 1),
        date(2024, 2, 29),
    )


def test_year_is_the_whole_year():
    frame = read_time("Did Xi and Kim exchange messages in 2019?", NOW)
    assert (frame.since, frame.until) == (date(2019, 1, 1), date(2019, 12, 31))
    assert frame.describe() == "in 2019"
    assert not frame.recency and not frame.timeline


@pytest.mark.parametrize(
    "question",
    [
        "What did Ostrander-Pell announce on July 15, 2024?",
        "What did they announce on 15 July 2024?",
        "What happened on July 15th, 2024?",
    ],
)
def test_a_day_is_a_one_day_window(question):
    frame = read_time(question, NOW)
    assert (frame.since, frame.until) == (date(2024, 7, 15), date(2024, 7, 15))
    assert frame.describe() == "on 15 July 2024"


def test_day_without_year_is_the_most_recent_past_one():
    assert window("Where was Kim on 9 June?") == (date(2024, 6, 9), date(2024, 6, 9))


def test_between_two_months_takes_the_year_of_the_second():
    frame = read_time("What happened between May and July 2024?", NOW)
    assert (frame.since, frame.until) == (date(2024, 5, 1), date(2024, 7, 31))
    assert frame.describe() == "between 1 May 2024 and 31 July 2024"


def test_between_february_of_a_leap_year_and_a_later_month_of_a_common_year():
    # Asked in a leap year: February is first read as 1-29 February 2028, then moved to 2027.
    frame = read_time("How many flats were sold between February and April 2027?", date(2028, 3, 5))
    assert (frame.since, frame.until) == (date(2027, 2, 1), date(2027, 4, 30))


def test_between_months_of_different_years():
    assert window("What happened between May 2023 and July 2024?") == (
        date(2023, 5, 1),
        date(2024, 7, 31),
    )


def test_from_to_is_a_range():
    assert window("What happened from March to May 2024?") == (date(2024, 3, 1), date(2024, 5, 31))


def test_since_a_month_is_relative_to_nows_year_and_open_ended():
    frame = read_time("What has happened since January?", NOW)
    assert frame.since == date(2025, 1, 1)
    assert frame.until is None
    assert frame.windowed
    assert frame.describe() == "since 1 January 2025"


def test_since_a_month_later_than_now_is_last_years():
    # asked on 1 March 2025, "since June" cannot be June 2025
    assert window("What has changed since June?")[0] == date(2024, 6, 1)


def test_month_without_year_prefers_the_past():
    assert window("What happened in December?") == (date(2024, 12, 1), date(2024, 12, 31))
    assert window("What happened in May?") == (date(2024, 5, 1), date(2024, 5, 31))


def test_after_a_month_starts_the_next_day():
    assert window("What happened after March 2024?") == (date(2024, 4, 1), None)


def test_before_a_date_ends_the_day_before_and_is_not_earliest():
    frame = read_time("What was the toll before July 20, 2024?", NOW)
    assert (frame.since, frame.until) == (None, date(2024, 7, 19))
    assert frame.windowed
    assert not frame.earliest  # a date, not "before the deal"
    assert frame.describe() == "before 20 July 2024"


def test_as_of_a_month_is_until_its_end_with_recency():
    frame = read_time("What was the Juniper Line's budget as of May 2023?", NOW)
    assert (frame.since, frame.until) == (None, date(2023, 5, 31))
    assert frame.recency
    assert frame.windowed
    assert frame.spans == ("as of May 2023",)


def test_parts_of_a_month():
    assert window("What was the death toll in mid-August 2024?") == (
        date(2024, 8, 10),
        date(2024, 8, 20),
    )
    since, until = window("What happened in early March 2024?")
    assert since == date(2024, 3, 1) and until < date(2024, 3, 16)
    since, until = window("What happened at the end of May 2024?")
    assert since > date(2024, 5, 15) and until == date(2024, 5, 31)


@pytest.mark.xfail(strict=True, reason="'late'/'early' are ignored for a bare year: whole year")
def test_late_year_is_the_later_part_of_the_year():
    since, until = window("What happened in late 2023?")
    assert until == date(2023, 12, 31)
    assert since is not None and since > date(2023, 6, 30)


def test_abbreviated_month():
    assert window("What happened in Sept. 2024?") == (date(2024, 9, 1), date(2024, 9, 30))


def test_a_window_never_ends_after_now():
    since, until = window("What happened in 2025?")
    assert since == date(2025, 1, 1) and until == NOW


# --- relative windows ------------------------------------------------------------------------


def test_last_week_is_the_previous_monday_to_sunday():
    frame = read_time("What happened last week?", NOW)
    assert (frame.since, frame.until) == (date(2025, 2, 17), date(2025, 2, 23))
    assert frame.since.weekday() == 0 and frame.until.weekday() == 6
    assert frame.spans == ("last week",)


def test_last_week_asked_on_a_monday():
    assert window("What happened at Vantelle last week?", date(2024, 3, 18)) == (
        date(2024, 3, 11),
        date(2024, 3, 17),
    )


def test_yesterday():
    frame = read_time("What happened yesterday?", NOW)
    assert (frame.since, frame.until) == (date(2025, 2, 28), date(2025, 2, 28))
    assert frame.describe() == "on 28 February 2025"


def test_yesterday_across_a_year_boundary():
    assert window("What happened yesterday?", date(2024, 1, 1)) == (
        date(2023, 12, 31),
        date(2023, 12, 31),
    )


def test_this_year_runs_to_now():
    assert window("What happened this year?") == (date(2025, 1, 1), NOW)


def test_last_month_and_last_year():
    assert window("What happened last month?") == (date(2025, 2, 1), date(2025, 2, 28))
    frame = read_time("What happened last year?", NOW)
    assert (frame.since, frame.until) == (date(2024, 1, 1), date(2024, 12, 31))
    assert frame.describe() == "in 2024"


def test_two_months_ago_is_a_window_around_that_time():
    since, until = window("What happened two months ago?")
    assert since is not None and until is not None
    assert since < date(2025, 1, 1) < until  # about 1 January 2025
    assert until < date(2025, 2, 1)  # not up to now
    assert since > date(2024, 11, 15)


def test_three_days_ago_with_digits_or_words():
    assert window("What happened 3 days ago?") == window("What happened three days ago?")
    since, until = window("What happened 3 days ago?")
    assert since <= date(2025, 2, 26) <= until


def test_the_past_two_weeks_runs_to_now():
    assert window("What happened in the past two weeks?") == (date(2025, 2, 15), NOW)


# --- the question's stance on time -----------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "What is the latest on the floods?",
        "What is the current death toll?",
        "Is the line still delayed?",
        "What is the most recent figure?",
        "What is the status now?",
    ],
)
def test_recency_words(question):
    frame = read_time(question, NOW)
    assert frame.recency
    assert not frame.timeline and not frame.earliest
    assert (frame.since, frame.until) == (None, None)
    assert not frame.windowed


@pytest.mark.parametrize(
    "question", ["What is the death toll so far?", "How many people have died so far?"]
)
def test_so_far_is_recency(question):
    frame = read_time(question, NOW)
    assert frame.recency and not frame.timeline


def test_latest_developments_is_recency():
    frame = read_time("What are the latest developments in the strike?", NOW)
    assert frame.recency and not frame.timeline


@pytest.mark.parametrize(
    "question",
    [
        "How has the death toll changed?",
        "How did the official death toll from the Lower Kaveli floods change over time?",
        "Give me the history of the strike",
        "Give me a timeline of the recall",
        "How did the class action against Vantelle progress?",
        "When were the gates opened, and when was the inquiry ordered?",
    ],
)
def test_timeline_words(question):
    frame = read_time(question, NOW)
    assert frame.timeline
    assert not frame.recency and not frame.earliest


def test_one_when_is_not_a_timeline():
    frame = read_time("When did Xi and Kim last exchange messages?", NOW)
    assert not frame.timeline


@pytest.mark.parametrize(
    "question",
    [
        "In what year was the forward pass rule changed?",
        "In what century did the history of the steam engine begin?",
        "On what date did the recall grow to 164 lots?",
    ],
)
def test_one_point_in_time_is_not_a_timeline(question):
    assert not read_time(question, NOW).timeline


def test_timeline_within_a_window():
    frame = read_time("How did the Cardivexa recall grow in July 2023?", NOW)
    assert frame.timeline
    assert (frame.since, frame.until) == (date(2023, 7, 1), date(2023, 7, 31))


@pytest.mark.parametrize(
    "question",
    [
        "What did the first reports say?",
        "Before the deal was reached, what pay rise was the union demanding?",
        "Before it was increased, how large was the federal flood aid package?",
        "When Vantelle first disclosed the breach, how many customers did it say were affected?",
        "What was the initial estimate?",
    ],
)
def test_earliest_words(question):
    frame = read_time(question, NOW)
    assert frame.earliest
    assert not frame.recency and not frame.timeline
    assert (frame.since, frame.until) == (None, None)  # "before the deal" is not a date


def test_first_reports_on_a_day_keep_the_day_window():
    frame = read_time(
        "According to the first reports on July 15, 2024, how many people had been forced"
        " from their homes?",
        NOW,
    )
    assert frame.earliest
    assert (frame.since, frame.until) == (date(2024, 7, 15), date(2024, 7, 15))


def test_plain_question_has_no_time():
    frame = read_time("Who chairs the Kaveli Basin Water Authority?", NOW)
    assert frame == TimeFrame(now=NOW)
    assert frame.describe() == ""
    assert not frame.windowed


# --- event dates are not windows --------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "event"),
    [
        ("What was the result of the June 9 vote?", "June 9"),
        ("What did she tell MPs at the October 2023 hearing?", "October 2023"),
        ("What did the board say at the June 9 meeting?", "June 9"),
    ],
)
def test_event_date_is_not_a_window(question, event):
    frame = read_time(question, NOW)
    assert (frame.since, frame.until) == (None, None)
    assert frame.events == (event,)
    assert frame.spans == ()
    assert not frame.windowed


def test_in_a_month_is_a_window_not_an_event():
    frame = read_time("What was the result of the ratification vote in November 2023?", NOW)
    assert (frame.since, frame.until) == (date(2023, 11, 1), date(2023, 11, 30))
    assert frame.events == ()


# --- words that look like months --------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "What may happen to the line?",
        "May the board approve it?",
        "How may the ruling affect the case?",
        "Will the minister march on Parliament?",
    ],
)
def test_may_and_march_as_verbs_are_not_months(question):
    frame = read_time(question, NOW)
    assert (frame.since, frame.until) == (None, None)
    assert frame.spans == () and frame.events == ()


def test_may_as_a_verb_beside_a_real_month():
    frame = read_time("What did he say he may do in March 2024?", NOW)
    assert (frame.since, frame.until) == (date(2024, 3, 1), date(2024, 3, 31))
    assert frame.spans == ("in March 2024",)


# --- formatting -------------------------------------------------------------------------------


def test_long_date():
    assert long_date(date(2025, 2, 11)) == "11 February 2025"
    assert long_date("2025-02-11T09:30:00+00:00") == "11 February 2025"
    assert long_date(None) == ""
    assert long_date("sometime") == "sometime"


def test_describe_open_and_closed_windows():
    assert TimeFrame(now=NOW, since=date(2024, 1, 1), until=date(2024, 12, 31)).describe() == (
        "in 2024"
    )
    assert TimeFrame(now=NOW, since=date(2024, 3, 5), until=date(2024, 3, 9)).describe() == (
        "between 5 March 2024 and 9 March 2024"
    )
    assert TimeFrame(now=NOW, until=date(2024, 6, 30)).describe() == "before 1 July 2024"


def test_until_now_is_not_a_window_of_its_own():
    assert not TimeFrame(now=NOW, until=NOW).windowed
    assert TimeFrame(now=NOW, until=date(2025, 2, 1)).windowed


def test_this_week_is_the_seven_days_up_to_now():
    # Asked on a Tuesday, "this week" still reaches back to the weekend's reports.
    assert window("Which team won the regatta this week?", date(2024, 6, 11)) == (
        date(2024, 6, 5),
        date(2024, 6, 11),
    )


@pytest.mark.parametrize(
    ("question", "days"),
    [
        ("Which bakery chain recently closed its factory?", 30),
        ("What has the harbour board said lately about dredging?", 30),
        ("Which ministers resigned in recent days?", 7),
        ("How many schools closed in recent weeks?", 30),
    ],
)
def test_recently_is_a_window_ending_now(question, days):
    assert window(question) == (NOW - timedelta(days=days), NOW)
