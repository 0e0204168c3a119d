import pytest

from fundraiser.payments import states
from fundraiser.payments.states import IllegalTransition, check_transition

LEGAL = [
    (states.CREATED, states.PROCESSING),
    (states.CREATED, states.FAILED),
    (states.PROCESSING, states.SUCCEEDED),
    (states.PROCESSING, states.REQUIRES_ACTION),
    (states.REQUIRES_ACTION, states.SUCCEEDED),
    (states.REQUIRES_ACTION, states.FAILED),
    (states.FAILED, states.SUCCEEDED),          # a late success is never lost
    (states.SUCCEEDED, states.PARTIALLY_REFUNDED),
    (states.SUCCEEDED, states.REFUNDED),
    (states.PARTIALLY_REFUNDED, states.REFUNDED),
    (states.SUCCEEDED, states.DISPUTED),
    (states.DISPUTED, states.SUCCEEDED),        # dispute won
    (states.DISPUTED, states.DISPUTE_LOST),
]

ILLEGAL = [
    (states.REFUNDED, states.SUCCEEDED),
    (states.SUCCEEDED, states.FAILED),
    (states.SUCCEEDED, states.REQUIRES_ACTION),  # a stale 3-D Secure event
    (states.SUCCEEDED, states.PROCESSING),
    (states.SUCCEEDED, states.CREATED),
    (states.REFUNDED, states.PARTIALLY_REFUNDED),
    (states.CANCELED, states.SUCCEEDED),
    (states.FAILED, states.PROCESSING),          # a failed payment is never resubmitted
    (states.CREATED, states.REFUNDED),
    (states.DISPUTE_LOST, states.SUCCEEDED),
]


@pytest.mark.parametrize(("current", "new"), LEGAL)
def test_legal_moves_change_something(current, new):
    assert check_transition(current, new) is True


@pytest.mark.parametrize(("current", "new"), ILLEGAL)
def test_illegal_moves_are_refused(current, new):
    with pytest.raises(IllegalTransition) as err:
        check_transition(current, new)
    assert err.value.current == current and err.value.new == new


@pytest.mark.parametrize("state", states.ALL)
def test_repeating_a_state_is_a_no_op(state):
    assert check_transition(state, state) is False


def test_unknown_states_are_an_error_not_a_move():
    with pytest.raises(ValueError):
        check_transition(states.CREATED, "paid")


def test_every_state_has_a_row_and_sources_match_the_table():
    assert set(states.TRANSITIONS) == set(states.ALL)
    for new in states.ALL:
        for source in states.sources_of(new):
            assert new in states.TRANSITIONS[source]
