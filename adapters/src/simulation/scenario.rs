//! The simulated company, drawn from the seed alone: one workspace, its senders (mixed tiers, time
//! zones, working hours, some warming up), mailboxes, campaigns of both built-in plays sharing
//! those senders, and the leads with the day they are enrolled.
//!
//! Senders are referred to by index: their ids are handed out by the engine when they connect.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use plera_actors::LeadProfile;
use plera_domain::ids::{CampaignId, LeadId, MailboxId, WorkspaceId};
use plera_domain::play::Play;
use plera_domain::seed::SeededRng;
use plera_domain::values::{ConnectionDegree, Limits, Tier, WorkingHours};

/// Share of leads whose email address is known.
const EMAIL_KNOWN: f64 = 0.7;
/// Share of leads already connected with the sender that will contact them.
const FIRST_DEGREE: f64 = 0.12;
/// Share of leads connected with some other sender of the workspace.
const CONNECTED_ELSEWHERE: f64 = 0.05;
/// Share of leads someone also tries to enroll in a second campaign (refused: already in one).
const SECOND_ENROLLMENT: f64 = 0.06;
/// Share of senders (after the first) whose account is new and warms up.
const WARM_UP: f64 = 0.35;
/// Most days over which enrollments are spread.
const MAX_WAVES: i64 = 7;

/// What the simulation is asked to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScenarioSize {
    /// The seed of every draw.
    pub seed: u64,
    /// How many simulated days the run lasts.
    pub days: u32,
    /// How many leads to enroll.
    pub leads: u32,
    /// How many LinkedIn senders.
    pub accounts: u32,
}

/// One LinkedIn sender to connect.
#[derive(Clone, Debug, PartialEq)]
pub struct SenderPlan {
    /// The provider's id of the account.
    pub provider_id: String,
    /// First name, for the templates' `{{sender_first_name}}`.
    pub first_name: String,
    /// Subscription.
    pub tier: Tier,
    /// Limits the user chose (some set them above what LinkedIn tolerates).
    pub limits: Limits,
    /// Time zone of its working hours.
    pub timezone: Tz,
    /// Local working hours.
    pub working_hours: WorkingHours,
    /// A new account that ramps up.
    pub warm_up: bool,
}

/// One campaign to create.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignPlan {
    /// Its id.
    pub id: CampaignId,
    /// Display name.
    pub name: String,
    /// The built-in play it runs.
    pub play: Play,
    /// Indexes of its senders (at least one; every sender serves at least two campaigns).
    pub senders: Vec<usize>,
    /// Index of its mailbox.
    pub mailbox: usize,
}

/// One lead and how it is enrolled.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadPlan {
    /// Its id.
    pub id: LeadId,
    /// Names and company; the sender's first name is added once the sender is known.
    pub profile: LeadProfile,
    /// Index of the campaign it is enrolled in.
    pub campaign: usize,
    /// Index of the sender (one of the campaign's) that contacts it.
    pub sender: usize,
    /// Its degree to that sender.
    pub degree: ConnectionDegree,
    /// Senders it is a 1st-degree connection of (the sender above included when `degree` is first).
    pub connected_with: Vec<usize>,
    /// The enrollment wave (day index) it belongs to.
    pub wave: usize,
    /// Another campaign someone also tries to enroll it in.
    pub second_campaign: Option<usize>,
}

/// The whole simulated company.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// The one workspace.
    pub workspace: WorkspaceId,
    /// When the world starts (a Monday, 00:00 UTC): senders, mailboxes and campaigns are set up.
    pub start: DateTime<Utc>,
    /// The senders.
    pub senders: Vec<SenderPlan>,
    /// Mailboxes as `(id, address)`.
    pub mailboxes: Vec<(MailboxId, String)>,
    /// The campaigns.
    pub campaigns: Vec<CampaignPlan>,
    /// The leads.
    pub leads: Vec<LeadPlan>,
    /// When each enrollment wave happens.
    pub waves: Vec<DateTime<Utc>>,
}

const TIMEZONES: &[Tz] = &[
    chrono_tz::Europe::London,
    chrono_tz::America::New_York,
    chrono_tz::Europe::Paris,
    chrono_tz::America::Los_Angeles,
    chrono_tz::Asia::Singapore,
    chrono_tz::Europe::Berlin,
    chrono_tz::Australia::Sydney,
    chrono_tz::Asia::Kolkata,
    chrono_tz::America::Sao_Paulo,
    chrono_tz::America::Chicago,
];

const HOURS: &[(u32, u32, u32, u32)] = &[
    (9, 0, 17, 0),
    (8, 0, 16, 0),
    (9, 0, 18, 0),
    (8, 30, 17, 30),
    (10, 0, 19, 0),
];

const SENDER_NAMES: &[&str] = &[
    "Alice", "Bruno", "Chloe", "Dmitri", "Esther", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kemi", "Lucas", "Maya", "Nils", "Olga", "Pablo",
];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken",
    "Radia", "Linus", "Hedy", "Tim", "Sophie", "Guido", "Anita", "Bjarne", "Karen", "Niklaus",
];

const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "McCarthy",
    "Hamilton",
    "Thompson",
    "Perlman",
    "Torvalds",
    "Lamarr",
    "Berners-Lee",
    "Wilson",
    "Rossum",
    "Borg",
    "Stroustrup",
    "Jones",
    "Wirth",
];

const COMPANIES: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark Industries",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wayne Enterprises",
    "Aperture",
    "Massive Dynamic",
];

const CAMPAIGN_NAMES: &[&str] = &[
    "Fintech CFOs",
    "SaaS founders",
    "Retail ops leads",
    "Healthcare IT",
    "Logistics VPs",
    "EdTech heads of growth",
    "Insurance CTOs",
    "Agency owners",
];

impl Scenario {
    /// Draws the company of `size` from its seed: the same size gives the same scenario.
    pub fn generate(size: ScenarioSize, start: DateTime<Utc>) -> Self {
        let accounts = size.accounts.max(1) as usize;
        let senders = (0..accounts)
            .map(|i| sender(size.seed, i, accounts))
            .collect::<Vec<_>>();
        let campaigns = campaigns(size.seed, accounts);
        let mailboxes = (0..campaigns.len().div_ceil(2))
            .map(|i| {
                (
                    MailboxId::new(format!("mb-{}", i + 1)),
                    format!("outreach{}@plera-sim.example", i + 1),
                )
            })
            .collect::<Vec<_>>();
        let wave_count = (i64::from(size.days) / 4 + 1)
            .min(i64::from(size.days))
            .clamp(1, MAX_WAVES);
        let mut rng = SeededRng::new(size.seed, &["waves"]);
        let waves = (0..wave_count)
            .map(|d| {
                // Mornings in Europe, nights in the Americas: every sender sees leads queue up.
                start
                    + Duration::days(d)
                    + Duration::hours(6)
                    + Duration::minutes(rng.range(0, 120) as i64)
            })
            .collect::<Vec<_>>();
        let leads = (0..size.leads as usize)
            .map(|i| lead(size.seed, i, &campaigns, accounts, waves.len()))
            .collect();
        Scenario {
            workspace: WorkspaceId::new("ws-sim"),
            start,
            senders,
            mailboxes,
            campaigns,
            leads,
            waves,
        }
    }
}

fn pick<'a, T>(rng: &mut SeededRng, items: &'a [T]) -> &'a T {
    // The lists are constant and non-empty.
    &items[rng.range(0, items.len() as u64) as usize]
}

fn sender(seed: u64, i: usize, accounts: usize) -> SenderPlan {
    let index = i.to_string();
    let mut rng = SeededRng::new(seed, &["sender", &index]);
    // The first three cover every tier whatever the seed; the rest are drawn.
    let tier = match i {
        0 => Tier::Premium,
        1 => Tier::SalesNavigator,
        2 => Tier::Free,
        _ => match rng.range(0, 20) {
            0..=5 => Tier::Free,
            6..=14 => Tier::Premium,
            _ => Tier::SalesNavigator,
        },
    };
    let mut limits = tier.default_limits();
    let optimistic = tier == Tier::Free && (i == 2 || rng.chance(0.25)) && accounts > 1;
    if optimistic {
        // An optimistic user: above what LinkedIn tolerates from a free account, so LinkedIn
        // refuses, the sender is paused and, if it keeps pushing, restricted.
        limits.daily_invites = 25;
        limits.weekly_invites = 120;
    } else if rng.chance(0.3) {
        // A cautious user: below the defaults.
        limits.daily_invites = limits.daily_invites * 3 / 4;
        limits.daily_messages = limits.daily_messages * 3 / 4;
        limits.weekly_invites = limits.weekly_invites * 3 / 4;
    }
    let timezone = TIMEZONES[(i + rng.range(0, 2) as usize) % TIMEZONES.len()];
    let (sh, sm, eh, em) = *pick(&mut rng, HOURS);
    let working_hours = WorkingHours::new(time(sh, sm), time(eh, em)).unwrap_or_default();
    SenderPlan {
        provider_id: format!("li-{}", i + 1),
        first_name: SENDER_NAMES[i % SENDER_NAMES.len()].to_string(),
        tier,
        limits,
        timezone,
        working_hours,
        // A warming-up account stays far below any cap; the optimistic one must not.
        warm_up: i > 0 && !optimistic && rng.chance(WARM_UP),
    }
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
}

fn campaigns(seed: u64, accounts: usize) -> Vec<CampaignPlan> {
    let count = accounts.max(2);
    let mut rng = SeededRng::new(seed, &["campaigns"]);
    (0..count)
        .map(|k| {
            // Campaign k uses senders k and k + 1: every sender serves campaigns k - 1 and k.
            let mut senders = vec![k % accounts];
            if !senders.contains(&((k + 1) % accounts)) {
                senders.push((k + 1) % accounts);
            }
            if accounts > 2 && rng.chance(0.3) {
                let extra = rng.range(0, accounts as u64) as usize;
                if !senders.contains(&extra) {
                    senders.push(extra);
                }
            }
            let play = if k % 2 == 0 {
                Play::linkedin_first()
            } else {
                Play::email_first()
            };
            CampaignPlan {
                id: CampaignId::new(format!("camp-{}", k + 1)),
                name: CAMPAIGN_NAMES[k % CAMPAIGN_NAMES.len()].to_string(),
                play,
                senders,
                mailbox: k / 2,
            }
        })
        .collect()
}

fn lead(
    seed: u64,
    i: usize,
    campaigns: &[CampaignPlan],
    accounts: usize,
    waves: usize,
) -> LeadPlan {
    let index = i.to_string();
    let mut rng = SeededRng::new(seed, &["lead", &index]);
    let first = *pick(&mut rng, FIRST_NAMES);
    let last = *pick(&mut rng, LAST_NAMES);
    let company = *pick(&mut rng, COMPANIES);
    let mut profile = LeadProfile::new(first, last, company);
    if rng.chance(EMAIL_KNOWN) {
        let domain: String = company
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase();
        profile = profile.with_email(&format!(
            "{}.{}{i}@{domain}.example",
            first.to_lowercase(),
            last.to_lowercase()
        ));
    }
    let campaign = rng.range(0, campaigns.len() as u64) as usize;
    let sender = *pick(&mut rng, &campaigns[campaign].senders);
    let mut connected_with = Vec::new();
    let degree = if rng.chance(FIRST_DEGREE) {
        connected_with.push(sender);
        ConnectionDegree::First
    } else if rng.chance(0.75) {
        ConnectionDegree::Second
    } else {
        ConnectionDegree::Third
    };
    if accounts > 1 && rng.chance(CONNECTED_ELSEWHERE) {
        let other = rng.range(0, accounts as u64) as usize;
        if other != sender {
            connected_with.push(other);
        }
    }
    let second_campaign = if campaigns.len() > 1 && rng.chance(SECOND_ENROLLMENT) {
        let shift = rng.range(1, campaigns.len() as u64) as usize;
        Some((campaign + shift) % campaigns.len())
    } else {
        None
    };
    LeadPlan {
        id: LeadId::new(format!("lead-{:05}", i + 1)),
        profile,
        campaign,
        sender,
        degree,
        connected_with,
        wave: rng.range(0, waves.max(1) as u64) as usize,
        second_campaign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn size(accounts: u32) -> ScenarioSize {
        ScenarioSize {
            seed: 7,
            days: 30,
            leads: 500,
            accounts,
        }
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
    }

    #[test]
    fn the_same_seed_draws_the_same_company() {
        assert_eq!(
            Scenario::generate(size(5), start()),
            Scenario::generate(size(5), start())
        );
        let other = ScenarioSize { seed: 8, ..size(5) };
        assert_ne!(
            Scenario::generate(size(5), start()).leads,
            Scenario::generate(other, start()).leads
        );
    }

    #[test]
    fn every_sender_serves_at_least_two_campaigns_of_both_plays() {
        for accounts in 1..=9 {
            let s = Scenario::generate(size(accounts), start());
            for i in 0..s.senders.len() {
                let serving = s
                    .campaigns
                    .iter()
                    .filter(|c| c.senders.contains(&i))
                    .count();
                assert!(serving >= 2, "{accounts} accounts: sender {i} in {serving}");
            }
            let plays: std::collections::BTreeSet<_> =
                s.campaigns.iter().map(|c| c.play.name.clone()).collect();
            assert_eq!(plays.len(), 2);
            assert!(s.campaigns.iter().all(|c| c.mailbox < s.mailboxes.len()));
        }
    }

    #[test]
    fn leads_mix_degrees_emails_and_second_enrollments() {
        let s = Scenario::generate(size(8), start());
        let first = s
            .leads
            .iter()
            .filter(|l| l.degree == ConnectionDegree::First)
            .count();
        let email = s.leads.iter().filter(|l| l.profile.email.is_some()).count();
        let second = s
            .leads
            .iter()
            .filter(|l| l.second_campaign.is_some())
            .count();
        assert!((20..120).contains(&first), "{first} first-degree");
        assert!((300..420).contains(&email), "{email} with email");
        assert!((10..60).contains(&second), "{second} second enrollments");
        for l in &s.leads {
            assert!(s.campaigns[l.campaign].senders.contains(&l.sender));
            assert_ne!(l.second_campaign, Some(l.campaign));
            assert!(l.wave < s.waves.len());
        }
        let tiers: std::collections::BTreeSet<_> =
            s.senders.iter().map(|p| format!("{:?}", p.tier)).collect();
        assert_eq!(tiers.len(), 3);
        assert!(s.senders.iter().any(|p| p.warm_up));
    }

    #[test]
    fn enrollments_spread_over_the_first_days() {
        let s = Scenario::generate(size(3), start());
        assert_eq!(s.waves.len(), 7);
        assert!(s.waves.windows(2).all(|w| w[0] < w[1]));
        let short = Scenario::generate(ScenarioSize { days: 1, ..size(3) }, start());
        assert_eq!(short.waves.len(), 1);
    }
}
