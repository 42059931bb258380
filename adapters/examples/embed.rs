//! Embedding plera in an ordinary `#[tokio::main]` program: the engine on the in-memory log and
//! the sandbox world, one sender, one campaign, a day of work on a virtual clock.
//!
//! Run with `cargo run -p plera-adapters --example embed`.

use chrono::{Duration, TimeZone, Utc};
use plera_actors::store::MemoryEventLog;
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadProfile, LeadSpec, SenderSettings, SequentialIds,
    VirtualClock,
};
use plera_adapters::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
use plera_domain::ids::{LeadId, OwnerId, ProviderAccountId, WorkspaceId};
use plera_domain::play::Play;
use plera_domain::ports::Clock;
use plera_domain::values::{ConnectionDegree, Tier, WorkingHours};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap(),
    ));
    let world = SandboxWorld::new(SandboxConfig::seeded(7), clock.clone());
    let engine = Engine::builder()
        .event_log(Arc::new(MemoryEventLog::new()))
        .linkedin(Arc::new(world.clone()))
        .email(Arc::new(world.clone()))
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .build()
        .await?;
    let ws = WorkspaceId::new("acme");

    // The authorisation flow: a hosted-auth link, then the provider's callback.
    let link = engine
        .start_connection(&ws, &OwnerId::new("alice"), None)
        .await?;
    let settings = SenderSettings {
        tier: Tier::Premium,
        limits: None,
        timezone: chrono_tz::Europe::Paris,
        working_hours: WorkingHours::parse("09:00", "18:00")?,
        warm_up: false,
    };
    let sender = engine
        .complete_connection(&link.state, &ProviderAccountId::new("li-alice"), settings)
        .await?;
    world.add_account_in(
        sender.clone(),
        ProviderAccountId::new("li-alice"),
        Tier::Premium,
        chrono_tz::Europe::Paris,
    );

    engine
        .register_mailbox(&ws, &"alice-mail".into(), "alice@acme.io")
        .await?;
    let campaign = engine
        .create_campaign(
            &ws,
            CampaignSpec {
                id: None,
                name: "Spring outreach".into(),
                play: Play::linkedin_first(),
                senders: vec![sender.clone()],
                mailbox: Some("alice-mail".into()),
            },
        )
        .await?;
    for i in 0..20 {
        let lead = LeadId::new(format!("lead-{i}"));
        world.add_lead(lead.clone(), SandboxLead::default());
        engine
            .enroll(
                &ws,
                &campaign,
                LeadSpec {
                    lead_id: lead,
                    profile: LeadProfile::new("Grace", "Hopper", "Navy")
                        .with_var("sender_first_name", "Alice"),
                    connection_degree: ConnectionDegree::Second,
                    sender: None,
                },
                EnrollOptions::default(),
            )
            .await?;
    }

    // Drive one simulated day.
    let end = clock.now() + Duration::days(1);
    while let Some(next) = engine.next_due().await? {
        if next > end {
            break;
        }
        clock.advance_to(next);
        for event in world.take_notifications(clock.now()) {
            engine.ingest(&ws, event).await?;
        }
        engine.tick().await?;
    }
    let view = engine.sender_status(&ws, &sender).await?;
    println!(
        "sender {} is {:?}; today: {:?}; the provider received {} actions",
        sender,
        view.status,
        view.usage,
        world.ledger().len()
    );
    engine.shutdown().await;
    Ok(())
}
