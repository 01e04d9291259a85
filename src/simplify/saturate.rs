//! Equality saturation: the rounds of egg's `Runner` with its `BackoffScheduler`, step for
//! step, driven here without the runner's bookkeeping (a check of the rule names, a map of
//! rule statistics by name, clocks and records for every round), which costs more than the
//! whole saturation of a small expression. The e-graph goes through exactly the same
//! searches, applications and rebuilds, so the forms are the same.

use crate::lang::{Math, MatrixAnalysis};
use egg::{EGraph, Language, Rewrite, SearchMatches, StopReason};

/// A rule with more matches than this in a round is banned for a while (egg's default).
const MATCH_LIMIT: usize = 1_000;

/// Rounds a rule is first banned for (egg's default); each ban doubles it and the limit.
const BAN_LENGTH: usize = 5;

/// How saturation ended.
pub struct Saturation {
    /// The saturated e-graph.
    pub egraph: EGraph<Math, MatrixAnalysis>,
    /// Rounds run.
    pub iterations: usize,
    /// Why it stopped.
    pub stop: StopReason,
}

/// A rule's back-off: banned until a round after it matched too often.
#[derive(Clone, Copy, Default)]
struct Backoff {
    times_banned: usize,
    banned_until: usize,
}

type Rules = [Rewrite<Math, MatrixAnalysis>];

/// An e-node's operator as the e-graph indexes it.
pub type Operator = <Math as Language>::Discriminant;

/// Runs the rules over `egraph` for at most `iterations` rounds, stopping past `nodes` e-nodes
/// or when a round changes nothing; `each_round` runs before every round's search. A rule is
/// searched only when the e-graph holds every operator of its left side (`needs`, one list per
/// rule): the others cannot match, so the rounds are the same, with fewer searches.
pub fn saturate(
    mut egraph: EGraph<Math, MatrixAnalysis>,
    rules: &Rules,
    needs: &[Vec<Operator>],
    iterations: usize,
    nodes: usize,
    each_round: impl Fn(),
) -> Saturation {
    let limits = |egraph: &EGraph<Math, MatrixAnalysis>, round: usize| {
        if egraph.total_size() > nodes {
            Err(StopReason::NodeLimit(egraph.total_size()))
        } else if round >= iterations {
            Err(StopReason::IterationLimit(round))
        } else {
            Ok(())
        }
    };
    let mut backoff = vec![Backoff::default(); rules.len()];
    egraph.rebuild();
    let mut round = 0;
    loop {
        let (size, classes) = (egraph.total_size(), egraph.number_of_classes());
        let mut result = limits(&egraph, round);
        let mut applied = false;
        if result.is_ok() {
            each_round();
            let matches: Vec<_> = (rules.iter().zip(&mut backoff).zip(needs))
                .map(|((rule, backoff), needs)| {
                    let present = needs.iter().all(|op| egraph.classes_for_op(op).is_some());
                    match present {
                        true => search(&egraph, rule, backoff, round),
                        false => vec![],
                    }
                })
                .collect();
            for (rule, matches) in rules.iter().zip(matches) {
                // An empty application changes nothing: the limits stand as last checked.
                if matches.is_empty() {
                    continue;
                }
                applied |= !rule.apply(&mut egraph, &matches).is_empty();
                result = limits(&egraph, round);
                if result.is_err() {
                    break;
                }
            }
        }
        egraph.rebuild();
        let saturated = !applied
            && can_stop(&mut backoff, round)
            && size == egraph.total_size()
            && classes == egraph.number_of_classes();
        if saturated {
            result = result.and(Err(StopReason::Saturated));
        }
        round += 1;
        if let Err(stop) = result.and_then(|()| limits(&egraph, round)) {
            return Saturation {
                egraph,
                iterations: round,
                stop,
            };
        }
    }
}

/// The matches of `rule`, or none while it is banned; more than its limit bans it.
fn search<'a>(
    egraph: &EGraph<Math, MatrixAnalysis>,
    rule: &'a Rewrite<Math, MatrixAnalysis>,
    backoff: &mut Backoff,
    round: usize,
) -> Vec<SearchMatches<'a, Math>> {
    if round < backoff.banned_until {
        return vec![];
    }
    let threshold = (MATCH_LIMIT.checked_shl(backoff.times_banned as u32))
        .expect("a rule is banned fewer than 64 times");
    let matches = rule.search_with_limit(egraph, threshold.saturating_add(1));
    let total: usize = matches.iter().map(|m| m.substs.len()).sum();
    if total > threshold {
        backoff.banned_until = round + (BAN_LENGTH << backoff.times_banned);
        backoff.times_banned += 1;
        return vec![];
    }
    matches
}

/// Whether saturation may stop: no rule is banned. Otherwise the bans are brought forward so
/// that the first ends now, and the rules get another round.
fn can_stop(backoff: &mut [Backoff], round: usize) -> bool {
    let banned = || backoff.iter().filter(|b| b.banned_until > round);
    let Some(first) = banned().map(|b| b.banned_until).min() else {
        return true;
    };
    let delta = first - round;
    for b in backoff.iter_mut().filter(|b| b.banned_until > round) {
        b.banned_until -= delta;
    }
    false
}
