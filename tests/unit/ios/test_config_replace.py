"""Configuration differences, merges and replacement (``show archive config differences |
incremental-diffs``, ``copy FILE running-config``, ``configure replace``) on the director's
own command set, with the configuration of the guide's chapter 3 ("Configuring the
Director") and its group and DHCP pool sub-modes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.ios import Engine
from smartinstall.ios.config_replace import (
    CONTEXTUAL,
    NO_CHANGES,
    Change,
    apply_config,
    configlet,
    contextual_diff,
    incremental_diff,
    listing,
    parse_config,
    replace_config,
)
from smartinstall.ios.director_config.replay import director_command_set

BASE = """hostname Director
vstack director 10.0.0.1
vstack basic
vstack dhcp-localserver lab
 address-pool 10.0.0.0 255.255.255.0
 default-router 10.0.0.1
 file-server 10.0.0.1
vstack group custom lab-custom mac
 match mac 0050.5603.0002
 image flash:c2960x.tar
vstack hostname-prefix BRANCH
"""


def director_engine(text: str = BASE) -> Engine:
    engine = Engine(hostname="Director")
    engine.add(director_command_set(engine, owns_address=lambda address: True))
    assert engine.replay(text).ok
    return engine


def test_parse_keeps_sub_mode_lines_under_their_parent_and_skips_the_rest() -> None:
    text = (
        "Using 120 out of 1048576 bytes\n"
        "Building configuration...\n\nCurrent configuration : 99 bytes\n!\nhostname A\n"
        "vstack group custom g mac\n match mac 0050.5603.0002\n  deeper line\n!\nvstack basic\n"
        "end\nhostname ignored-after-end\n"
    )
    tree = parse_config(text)
    assert [line.text for line in tree] == ["hostname A", "vstack group custom g mac",
                                            "vstack basic"]  # fmt: skip
    assert [c.text for c in tree[1].children] == ["match mac 0050.5603.0002"]
    assert [c.text for c in tree[1].children[0].children] == ["deeper line"]


def test_contextual_diff_marks_lines_under_their_unchanged_parents() -> None:
    new = BASE.replace("0050.5603.0002", "0050.5603.0003").replace(
        "vstack hostname-prefix BRANCH\n", "vstack hostname-prefix SITE\n"
    )
    assert contextual_diff(BASE, new).splitlines() == [
        CONTEXTUAL,
        "-vstack hostname-prefix BRANCH",
        "vstack group custom lab-custom mac",
        " -match mac 0050.5603.0002",
        " +match mac 0050.5603.0003",
        "+vstack hostname-prefix SITE",
    ]
    assert contextual_diff(BASE, BASE + "!\nend\n") == f"{CONTEXTUAL}\n{NO_CHANGES}\n"
    # spaces do not count; case counts unless told otherwise
    assert contextual_diff(BASE, BASE.replace("vstack basic", "vstack   basic")).endswith(
        NO_CHANGES + "\n"
    )
    upper = BASE.replace("vstack basic", "VSTACK BASIC")
    assert "+VSTACK BASIC" in contextual_diff(BASE, upper)
    assert contextual_diff(BASE, upper, ignorecase=True).endswith(NO_CHANGES + "\n")


def test_a_removed_block_is_listed_whole() -> None:
    smaller = BASE.replace(
        "vstack group custom lab-custom mac\n match mac 0050.5603.0002\n image flash:c2960x.tar\n",
        "",
    )
    assert contextual_diff(BASE, smaller).splitlines()[1:] == [
        "-vstack group custom lab-custom mac",
        " -match mac 0050.5603.0002",
        " -image flash:c2960x.tar",
    ]


def test_incremental_diff_lists_only_what_the_file_would_change() -> None:
    merge = (
        "vstack group custom lab-custom mac\n match mac 0050.5603.0002\n match mac 0050.5603.0004\n"
        "vstack basic\nno vstack hostname-prefix\nno vstack backup\n"
    )
    assert incremental_diff(BASE, merge).splitlines() == [
        "!List of Commands:",
        "vstack group custom lab-custom mac",
        " match mac 0050.5603.0004",
        "no vstack hostname-prefix",
        "end",
    ]
    assert incremental_diff(BASE, "vstack basic\n") == NO_CHANGES + "\n"
    assert incremental_diff(BASE, "") == NO_CHANGES + "\n"


def test_configlet_removes_first_then_adds_parents_before_children() -> None:
    new = BASE.replace("vstack hostname-prefix BRANCH\n", "") + (
        "vstack group custom second mac\n match mac 0050.5603.0009\n"
    )
    changes = configlet(BASE, new)
    assert changes == [
        Change((), "vstack hostname-prefix BRANCH", True),
        Change((), "vstack group custom second mac", False),
        Change(("vstack group custom second mac",), "match mac 0050.5603.0009", False),
    ]
    assert listing(changes).splitlines() == [
        "!List of Commands:",
        "no vstack hostname-prefix BRANCH",
        "vstack group custom second mac",
        " match mac 0050.5603.0009",
        "end",
    ]
    assert Change((), "no vstack basic", True).typed() == "vstack basic"


def test_replace_turns_the_running_configuration_into_the_candidate_and_back() -> None:
    engine = director_engine()
    original = engine.running_config()
    candidate = (
        BASE.replace("0050.5603.0002", "0050.5603.0003")
        .replace("vstack hostname-prefix BRANCH\n", "")
        .replace("default-router 10.0.0.1", "default-router 10.0.0.254")
        + "vstack group custom second mac\n match mac 0050.5603.0009\n"
    )
    result = replace_config(engine, candidate)
    assert result.done and not result.rejected and result.passes == 1
    assert contextual_diff(engine.running_config(), candidate).endswith(NO_CHANGES + "\n")
    back = replace_config(engine, original)
    assert back.done
    assert engine.running_config() == original


def test_replace_with_a_refused_line_is_not_done_and_names_it() -> None:
    engine = director_engine()
    result = replace_config(engine, BASE + "vstack no-such-thing 1\n")
    assert not result.done
    assert [r.line for r in result.rejected] == ["vstack no-such-thing 1"]
    assert "% Invalid input detected at '^' marker." in result.rejected[0].output
    assert Change((), "vstack no-such-thing 1", False) in result.last


def test_merge_applies_every_line_and_reports_the_refused_ones() -> None:
    engine = director_engine()
    rejected = apply_config(
        engine,
        "vstack group custom lab-custom mac\n match mac 0050.5603.0004\n bogus line\n"
        "vstack hostname-prefix SITE\nend\nvstack basic-after-end\n",
    )
    assert [r.line for r in rejected] == ["bogus line"]
    running = engine.running_config()
    assert " match mac 0050.5603.0004" in running
    assert "vstack hostname-prefix SITE" in running


config_text = st.lists(
    st.tuples(st.integers(0, 3), st.text(st.characters(codec="utf-8"), max_size=40)),
    max_size=60,
).map(lambda lines: "\n".join(" " * depth + text for depth, text in lines))


@settings(max_examples=200, deadline=None)
@given(config_text, config_text)
def test_the_diffs_never_raise_and_a_text_has_no_difference_with_itself(old: str, new: str) -> None:
    contextual_diff(old, new)
    incremental_diff(old, new, ignorecase=True)
    configlet(old, new)
    assert contextual_diff(new, new).endswith(NO_CHANGES + "\n")
    assert configlet(new, new) == []
