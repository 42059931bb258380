//! The ledger's JSON lines: the shape `plera simulate --ledger` writes and `plera audit` reads.

use plera_domain::ports::{EmailGateway, LinkedInGateway};
use plera_domain::values::Tier;
use serde_json::Value;

use super::super::LedgerEntry;
use super::*;

#[tokio::test]
async fn every_performed_action_is_one_json_line_of_the_documented_shape() {
    let (world, clock) = world(quiet());
    account(&world, "acc-1", Tier::Free);
    lead(&world, "ana", &["acc-1"]);
    lead(&world, "bo", &[]);

    clock.set(start() + Duration::minutes(2));
    world
        .send_message(message("acc-1", "ana", key("w/c/ana", 1)))
        .await
        .expect("message");
    clock.set(start() + Duration::minutes(1));
    world
        .send_invite(invite("acc-1", "bo", key("w/c/bo", 0), Some("Hi Bo")))
        .await
        .expect("invite");
    clock.set(start() + Duration::minutes(3));
    world
        .send_email(email("bo@example.com", key("w/c/bo", 1)))
        .await
        .expect("email");
    let _refused = world
        .send_email(email("nobody@example.com", key("w/c/x", 0)))
        .await;

    let mut out = Vec::new();
    world.write_ledger_jsonl(&mut out).expect("in memory");
    let text = String::from_utf8(out).expect("utf-8");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 3, "refusals leave no line");
    assert_eq!(
        lines[0],
        serde_json::json!({
            "at": "2026-03-02T09:01:00Z",
            "account_id": "acc-1",
            "lead_id": "bo",
            "action": "invite",
            "key": "w/c/bo#0",
            "note": "Hi Bo",
        })
    );
    assert_eq!(
        lines[1],
        serde_json::json!({
            "at": "2026-03-02T09:02:00Z",
            "account_id": "acc-1",
            "lead_id": "ana",
            "action": "message",
            "key": "w/c/ana#1",
            "text": "Hi ana, thanks for connecting!",
        })
    );
    assert_eq!(
        lines[2],
        serde_json::json!({
            "at": "2026-03-02T09:03:00Z",
            "account_id": null,
            "lead_id": "bo",
            "action": "email",
            "key": "w/c/bo#1",
            "subject": "Quick question",
            "mailbox": "mbx-1",
        })
    );
    let back: Vec<LedgerEntry> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("reads back"))
        .collect();
    assert_eq!(back, world.ledger());
}
