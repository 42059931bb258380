//! A flaky provider: lost answers are found by reconciliation; every other fault did nothing.

use plera_domain::ports::{GatewayErrorKind, LinkedInGateway};
use plera_domain::values::Tier;

use super::*;

#[tokio::test]
async fn reconciliation_by_key_tells_what_really_happened() {
    let (world, _clock) = world(uncapped(SandboxConfig {
        fault_rate: 0.5,
        ..quiet()
    }));
    account(&world, "acc-1", Tier::Premium);
    let leads = leads(&world, 400, &[]);
    let (mut ok, mut refused, mut lost_done, mut lost_undone) = (0, 0, 0, 0);
    for lead in &leads {
        let k = key(lead, 0);
        let result = world
            .send_invite(invite("acc-1", lead, k.clone(), None))
            .await;
        let found = world.find_invite(&k).await.expect("find never fails");
        match result {
            Ok(receipt) => {
                ok += 1;
                assert_eq!(found, Some(receipt));
            }
            Err(e) if e.kind == GatewayErrorKind::Timeout => match found {
                Some(receipt) => {
                    lost_done += 1;
                    // The engine's retry after reconciliation is answered, not repeated.
                    let again = world
                        .send_invite(invite("acc-1", lead, k.clone(), None))
                        .await;
                    assert_eq!(again, Ok(receipt));
                }
                None => lost_undone += 1,
            },
            Err(e) => {
                refused += 1;
                assert_eq!(found, None, "a refusal ({}) did nothing", e.kind);
            }
        }
    }
    // At 0.5: 25 % transient, 25 % lost answers (all of which performed the invite here), 10 %
    // timeouts that never reached LinkedIn, 7 % account or recipient refusals.
    assert!(
        ok > 100 && refused > 100 && lost_done > 60 && lost_undone > 15,
        "{ok} {refused} {lost_done} {lost_undone}"
    );
    assert_eq!(
        world.ledger().len(),
        ok + lost_done,
        "the ledger holds exactly what was done"
    );
}
