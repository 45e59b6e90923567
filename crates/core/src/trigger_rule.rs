//! Airflow's trigger rules: whether a task runs, is skipped or is upstream_failed, given the
//! states of its upstream task instances (a mapped upstream task counts once, with the state of
//! all its instances together).

use airtask_workflow::TriggerRule;

use crate::instance::TaskState;

/// What a trigger rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The task runs.
    Run,
    /// The task is skipped.
    Skip,
    /// The task is upstream_failed.
    UpstreamFailed,
}

struct Counts {
    n: usize,
    success: usize,
    skipped: usize,
    failed: usize,
}

fn counts(upstream: &[TaskState]) -> Counts {
    Counts {
        n: upstream.len(),
        success: upstream
            .iter()
            .filter(|s| **s == TaskState::Success)
            .count(),
        skipped: upstream
            .iter()
            .filter(|s| **s == TaskState::Skipped)
            .count(),
        failed: upstream.iter().filter(|s| s.is_failed()).count(),
    }
}

/// The decision as soon as the upstream states settle it, as Airflow's scheduler makes it
/// (`one_success` runs at the first success while other upstream tasks still run;
/// `all_success` is upstream_failed at the first failure), else `None` until every upstream
/// task is done.
pub fn decide_early(rule: TriggerRule, upstream: &[TaskState]) -> Option<Decision> {
    if upstream.iter().all(|s| s.is_done()) {
        return Some(decide(rule, upstream));
    }
    let Counts {
        success,
        skipped,
        failed,
        ..
    } = counts(upstream);
    match rule {
        TriggerRule::OneSuccess if success > 0 => Some(Decision::Run),
        TriggerRule::OneFailed if failed > 0 => Some(Decision::Run),
        TriggerRule::OneDone if success + failed > 0 => Some(Decision::Run),
        TriggerRule::AllSuccess if failed > 0 => Some(Decision::UpstreamFailed),
        TriggerRule::AllSuccess if skipped > 0 => Some(Decision::Skip),
        TriggerRule::NoneFailed | TriggerRule::NoneFailedMinOneSuccess if failed > 0 => {
            Some(Decision::UpstreamFailed)
        }
        TriggerRule::AllFailed if success + skipped > 0 => Some(Decision::Skip),
        TriggerRule::NoneSkipped if skipped > 0 => Some(Decision::Skip),
        TriggerRule::AllSkipped if success + failed > 0 => Some(Decision::Skip),
        _ => None,
    }
}

/// The decision when every upstream task is done.
pub fn decide(rule: TriggerRule, upstream: &[TaskState]) -> Decision {
    let Counts {
        n,
        success,
        skipped,
        failed,
    } = counts(upstream);
    let run_if = |cond: bool, otherwise: Decision| if cond { Decision::Run } else { otherwise };
    match rule {
        TriggerRule::AllSuccess if failed > 0 => Decision::UpstreamFailed,
        TriggerRule::AllSuccess => run_if(skipped == 0, Decision::Skip),
        TriggerRule::AllFailed => run_if(failed == n, Decision::Skip),
        TriggerRule::AllDone | TriggerRule::AllDoneSetupSuccess | TriggerRule::Always => {
            Decision::Run
        }
        TriggerRule::OneSuccess if success > 0 || n == 0 => Decision::Run,
        TriggerRule::OneSuccess if skipped == n => Decision::Skip,
        TriggerRule::OneSuccess => Decision::UpstreamFailed,
        TriggerRule::OneFailed => run_if(failed > 0 || n == 0, Decision::Skip),
        TriggerRule::OneDone => run_if(success + failed > 0 || n == 0, Decision::Skip),
        TriggerRule::NoneFailed => run_if(failed == 0, Decision::UpstreamFailed),
        TriggerRule::NoneFailedMinOneSuccess if failed > 0 => Decision::UpstreamFailed,
        TriggerRule::NoneFailedMinOneSuccess => run_if(success > 0 || n == 0, Decision::Skip),
        TriggerRule::NoneSkipped => run_if(skipped == 0, Decision::Skip),
        TriggerRule::AllSkipped => run_if(skipped == n, Decision::Skip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskState::{
        Failed, Running, Skipped, Success, Timeout, UpForRetry, UpstreamFailed, Waiting,
    };

    #[test]
    fn rules_decide_as_soon_as_the_upstream_states_settle_them() {
        let early = decide_early;
        assert_eq!(
            early(TriggerRule::OneSuccess, &[Success, Running]),
            Some(Decision::Run)
        );
        assert_eq!(early(TriggerRule::OneSuccess, &[Failed, Running]), None);
        assert_eq!(
            early(TriggerRule::OneFailed, &[Running, Failed]),
            Some(Decision::Run)
        );
        assert_eq!(
            early(TriggerRule::AllSuccess, &[Failed, Waiting]),
            Some(Decision::UpstreamFailed)
        );
        assert_eq!(
            early(TriggerRule::AllSuccess, &[Skipped, Running]),
            Some(Decision::Skip)
        );
        assert_eq!(early(TriggerRule::AllSuccess, &[Success, Running]), None);
        assert_eq!(early(TriggerRule::AllDone, &[Success, Running]), None);
        assert_eq!(early(TriggerRule::AllDone, &[Success, UpForRetry]), None);
        assert_eq!(
            early(TriggerRule::AllSkipped, &[Success, Running]),
            Some(Decision::Skip)
        );
        assert_eq!(
            early(TriggerRule::AllDone, &[Success, Failed]),
            Some(Decision::Run)
        );
    }

    #[test]
    fn every_rule_when_all_upstream_tasks_are_done() {
        use Decision::{Run, Skip, UpstreamFailed as Uf};
        let cases: &[(TriggerRule, &[TaskState], Decision)] = &[
            (TriggerRule::AllSuccess, &[Success, Success], Run),
            (TriggerRule::AllSuccess, &[Success, Skipped], Skip),
            (TriggerRule::AllSuccess, &[Skipped, Timeout], Uf),
            (TriggerRule::AllFailed, &[Failed, UpstreamFailed], Run),
            (TriggerRule::AllFailed, &[Failed, Success], Skip),
            (TriggerRule::AllDone, &[Failed, Skipped], Run),
            (TriggerRule::Always, &[], Run),
            (TriggerRule::OneSuccess, &[Failed, Success], Run),
            (TriggerRule::OneSuccess, &[Skipped, Skipped], Skip),
            (TriggerRule::OneSuccess, &[Skipped, Failed], Uf),
            (TriggerRule::OneFailed, &[Success, Skipped], Skip),
            (TriggerRule::OneDone, &[Skipped, Failed], Run),
            (TriggerRule::OneDone, &[Skipped], Skip),
            (TriggerRule::NoneFailed, &[Success, Skipped], Run),
            (TriggerRule::NoneFailed, &[Success, Failed], Uf),
            (
                TriggerRule::NoneFailedMinOneSuccess,
                &[Skipped, Skipped],
                Skip,
            ),
            (
                TriggerRule::NoneFailedMinOneSuccess,
                &[Skipped, Success],
                Run,
            ),
            (TriggerRule::NoneSkipped, &[Failed, Success], Run),
            (TriggerRule::NoneSkipped, &[Skipped, Success], Skip),
            (TriggerRule::AllSkipped, &[Skipped, Skipped], Run),
            (TriggerRule::AllSkipped, &[Skipped, Failed], Skip),
        ];
        for (rule, ups, want) in cases {
            assert_eq!(decide(*rule, ups), *want, "{} over {ups:?}", rule.as_str());
        }
    }
}
