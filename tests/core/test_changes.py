"""Every change a person makes, decided as data."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from befriend.core import changes
from befriend.core.commands import PermissionChange, SettingsPatch
from befriend.core.ledger import verify
from befriend.core.person import Person
from befriend.core.playbook import Playbook, load_playbook
from tests.conftest import ROOT
from tests.core.conftest import (
    NOW,
    NUMBER,
    code_entered,
    ctx,
    number_verified,
    signup_form,
)

PLAYBOOK = load_playbook((ROOT / "handlers/befriend/playbook.toml").read_text())


def test_nothing_is_granted_before_the_address_is_confirmed(playbook: Playbook) -> None:
    form = signup_form(playbook, "a@example.org")
    pending = changes.start_signup("p1", form, ctx("form"))
    assert pending.status == "pending"
    assert pending.state(("email", "newsletter")) == "never"
    assert pending.expires_at == NOW + timedelta(days=7)


def test_confirming_grants_what_was_asked_and_chains_two_entries(playbook: Playbook) -> None:
    pairs = (("email", "newsletter"), ("sms", "offers"))
    form = signup_form(playbook, "c@example.org", pairs, interests=("cooking",), phone=NUMBER)
    out = changes.confirm(changes.start_signup("p1", form, ctx("form")), ctx("confirm"), playbook)
    confirmed = out.person
    assert confirmed.status == "active"
    assert confirmed.state(("email", "newsletter")) == "granted"
    # Texts wait for the number given at sign-up to be verified by its code.
    assert confirmed.state(("sms", "offers")) == "never"
    assert confirmed.contact_points.phone_asked == (("sms", "offers"),)
    assert confirmed.interests == {"cooking"}
    assert confirmed.seq == 2 and confirmed.expires_at is None
    assert [e.action for e in out.entries] == ["signup", "confirm"]
    verified = code_entered(confirmed, playbook)
    assert verified.state(("sms", "offers")) == "granted"
    assert verified.contact_points.phone_asked == ()


def test_confirming_twice_changes_nothing(confirmed: Person, playbook: Playbook) -> None:
    again = changes.confirm(confirmed, ctx("confirm"), playbook)
    assert not again.changed and again.entries == ()


def test_withdrawing_is_one_entry_like_granting(confirmed: Person, playbook: Playbook) -> None:
    off = changes.change_permissions(
        confirmed, [PermissionChange(("email", "newsletter"), False)], ctx(), playbook
    )
    assert off.person.state(("email", "newsletter")) == "withdrawn"
    assert len(off.entries) == 1
    assert off.entries[0].changes[0].as_json() == {
        "what": "permission:email:newsletter",
        "old": "granted",
        "new": "withdrawn",
    }


def test_withdrawing_what_was_never_given_records_nothing(
    confirmed: Person, playbook: Playbook
) -> None:
    same = changes.change_permissions(
        confirmed, [PermissionChange(("phone", "research"), False)], ctx(), playbook
    )
    assert not same.changed
    assert same.person.state(("phone", "research")) == "never"


def test_withdraw_all_leaves_nothing_granted(confirmed: Person, playbook: Playbook) -> None:
    out = changes.withdraw_all(confirmed, ctx(), playbook).person
    assert all(p.state != "granted" for p in out.permissions.values())
    assert out.state(("sms", "offers")) == "withdrawn"


def test_gpc_refuses_partner_sharing_and_says_so(confirmed: Person, playbook: Playbook) -> None:
    out = changes.change_permissions(
        confirmed,
        [
            PermissionChange(("email", "partner-sharing"), True),
            PermissionChange(("email", "offers"), True),
        ],
        ctx(gpc=True),
        playbook,
    )
    assert out.person.state(("email", "partner-sharing")) == "never"
    assert out.person.state(("email", "offers")) == "granted"
    gpc_entry = out.entries[-1]
    assert gpc_entry.action == "gpc" and gpc_entry.source == "gpc" and gpc_entry.gpc
    assert [c.what for c in gpc_entry.changes] == ["permission:email:partner-sharing"]


def test_gpc_withdraws_sharing_granted_earlier(confirmed: Person, playbook: Playbook) -> None:
    shared = changes.change_permissions(
        confirmed, [PermissionChange(("postal", "partner-sharing"), True)], ctx(), playbook
    ).person
    assert shared.state(("postal", "partner-sharing")) == "granted"
    out = changes.change_permissions(
        shared, [PermissionChange(("email", "offers"), True)], ctx(gpc=True), playbook
    ).person
    assert out.state(("postal", "partner-sharing")) == "withdrawn"
    assert out.permissions[("postal", "partner-sharing")].source == "gpc"


def test_gpc_at_sign_up_is_honoured_at_confirmation(playbook: Playbook) -> None:
    form = signup_form(
        playbook, "g@example.org", (("email", "partner-sharing"), ("email", "offers"))
    )
    pending = changes.start_signup("p2", form, ctx("form", gpc=True))
    out = changes.confirm(pending, ctx("confirm"), playbook)
    assert out.person.state(("email", "partner-sharing")) == "never"
    assert out.person.state(("email", "offers")) == "granted"
    assert out.entries[-1].action == "gpc"


def test_unsubscribe_withdraws_one_purpose_or_the_whole_channel(
    confirmed: Person, playbook: Playbook
) -> None:
    both = changes.change_permissions(
        confirmed, [PermissionChange(("email", "offers"), True)], ctx(), playbook
    ).person
    one = changes.unsubscribe(both, "email", "offers", ctx("one-click"), playbook).person
    assert one.state(("email", "offers")) == "withdrawn"
    assert one.state(("email", "newsletter")) == "granted"
    every = changes.unsubscribe(both, "email", None, ctx("one-click"), playbook).person
    assert every.state(("email", "newsletter")) == "withdrawn"
    assert every.state(("sms", "offers")) == "granted"


def test_unsubscribe_before_confirming_drops_the_request(playbook: Playbook) -> None:
    pairs = (("email", "newsletter"), ("sms", "offers"))
    form = signup_form(playbook, "u@example.org", pairs, phone=NUMBER)
    pending = changes.start_signup("p3", form, ctx("form"))
    out = changes.unsubscribe(pending, "email", None, ctx("one-click"), playbook).person
    confirmed = changes.confirm(out, ctx("confirm"), playbook).person
    assert confirmed.state(("email", "newsletter")) == "never"
    assert confirmed.contact_points.phone_asked == (("sms", "offers"),)  # still asked
    assert code_entered(confirmed, playbook).state(("sms", "offers")) == "granted"


def test_settings_record_each_changed_field(confirmed: Person, playbook: Playbook) -> None:
    patch = SettingsPatch(
        time_zone="Asia/Tokyo",
        max_per_week={"email": 2},
        handles={"x": "@befriend"},
        paused_until=NOW + timedelta(days=3),
    )
    out = changes.update_settings(confirmed, patch, ctx(), playbook)
    whats = {c.what for c in out.entries[0].changes}
    assert whats == {"time_zone", "max_per_week:email", "handle:x", "paused_until"}
    assert out.person.preferences.max_per_week == {"email": 2}
    cleared = changes.update_settings(
        out.person,
        SettingsPatch(max_per_week={"email": None}, clear_pause=True),
        ctx(),
        playbook,
    ).person
    assert cleared.preferences.max_per_week == {}
    assert cleared.preferences.paused_until is None


def test_sign_out_everywhere_moves_the_token_generation(
    confirmed: Person, playbook: Playbook
) -> None:
    out = changes.sign_out_everywhere(confirmed, ctx(), playbook).person
    assert out.token_generation == confirmed.token_generation + 1


pairs = st.sampled_from(PLAYBOOK.grid())
steps = st.lists(
    st.tuples(
        st.sampled_from(["grant", "withdraw", "withdraw-all", "unsubscribe"]), pairs, st.booleans()
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(steps, st.booleans())
def test_any_sequence_of_changes_keeps_a_valid_chain_and_honours_the_last_word(
    script: list[tuple[str, tuple[str, str], bool]], has_number: bool
) -> None:
    pb = PLAYBOOK
    form = signup_form(pb, "h@example.org", ())
    start = changes.confirm(changes.start_signup("h", form, ctx("form")), ctx(), pb)
    person, entries = start.person, [e.as_json() for e in start.entries]
    if has_number:
        given = number_verified(person, pb)
        person, entries = given.person, entries + [e.as_json() for e in given.entries]
    last_word: dict[tuple[str, str], str] = {}
    for op, pair, gpc in script:
        c = ctx(gpc=gpc)
        if op == "grant":
            out = changes.change_permissions(person, [PermissionChange(pair, True)], c, pb)
            if not (gpc and pb.purposes[pair[1]].gpc_opt_out):
                last_word[pair] = "granted"
        elif op == "withdraw":
            out = changes.change_permissions(person, [PermissionChange(pair, False)], c, pb)
            last_word[pair] = "withdrawn"
        elif op == "withdraw-all":
            out = changes.withdraw_all(person, c, pb)
            last_word = dict.fromkeys(last_word, "withdrawn")
        else:
            out = changes.unsubscribe(person, pair[0], None, c, pb)
            last_word.update({p: "withdrawn" for p in last_word if p[0] == pair[0]})
        if gpc:
            last_word.update(
                {
                    p: "withdrawn"
                    for p, s in last_word.items()
                    if s == "granted" and pb.purposes[p[1]].gpc_opt_out
                }
            )
        entries += [e.as_json() for e in out.entries]
        person = out.person
    assert verify("h", entries) == person.seq
    for pair in pb.grid():
        granted = person.state(pair) == "granted"
        # A text or a call is never granted without a verified number to use.
        reachable = has_number or pb.channels[pair[0]].kind != "phone"
        assert granted == (last_word.get(pair) == "granted" and reachable)
