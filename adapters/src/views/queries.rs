//! Read queries over the view tables, returning the typed results of `plera-projections`.

use std::collections::BTreeMap;

use plera_domain::ids::{AccountId, CampaignId, WorkspaceId};
use plera_projections::funnel::{CampaignFunnel, DayFunnel, StepFunnel};
use plera_projections::inbox::{MessageRow, ThreadRow};
use plera_projections::queries::{
    Funnel, FunnelDay, InboxFilter, SenderHealth, Thread, ViewError, WarningView,
};
use plera_projections::rows::{Key, KeyPart, Kind, Record, Table, Value};
use plera_projections::senders::{ClockRow, SenderRow, WarningRow};
use plera_projections::time::parse_stamp;

use super::db::{Db, Dialect, Sql};
use super::sql;

/// Threads matching `filter`, most recent first, each with its messages oldest first.
pub(crate) async fn inbox(db: &Db, filter: &InboxFilter) -> Result<Vec<Thread>, ViewError> {
    let table = ThreadRow::table();
    let mut query = sql::select(db.dialect(), table);
    query.push(" WHERE 1 = 1");
    let conditions = [
        (
            "workspace_id",
            filter.workspace.as_ref().map(|w| w.to_string()),
        ),
        ("lead_id", filter.lead.as_ref().map(|l| l.to_string())),
        ("account_id", filter.account.as_ref().map(|a| a.to_string())),
        (
            "campaign_id",
            filter.campaign.as_ref().map(|c| c.to_string()),
        ),
        ("last_channel", filter.channel.map(|c| c.to_string())),
    ];
    for (column, value) in conditions {
        if let Some(value) = value {
            query
                .push(" AND ")
                .push(column)
                .push(" = ")
                .bind_text(&value);
        }
    }
    if filter.unread_only {
        query.push(" AND unread > 0");
    }
    query.push(" ORDER BY last_at DESC, last_position DESC, workspace_id, lead_id, account_id");
    push_page(&mut query, db.dialect(), filter.limit, filter.offset);
    let threads = records::<ThreadRow>(db, &query).await?;
    let keys: Vec<Key> = threads.iter().map(Record::key).collect();
    let messages = rows_for_keys::<MessageRow>(db, &keys, ThreadRow::table(), |m| {
        vec![
            KeyPart::from(m.workspace_id.as_str()),
            KeyPart::from(m.lead_id.as_str()),
            KeyPart::from(m.account_id.as_str()),
        ]
    })
    .await?;
    let mut by_thread: BTreeMap<Key, Vec<MessageRow>> = BTreeMap::new();
    for (key, message) in messages {
        by_thread.entry(key).or_default().push(message);
    }
    threads
        .into_iter()
        .map(|t| {
            let mine = by_thread.remove(&t.key()).unwrap_or_default();
            Thread::from_rows(t, mine)
        })
        .collect()
}

/// Senders by account id, with the view's `as_of`.
pub(crate) async fn senders(
    db: &Db,
    workspace: Option<&WorkspaceId>,
) -> Result<Vec<SenderHealth>, ViewError> {
    let clock = records::<ClockRow>(db, &sql::select(db.dialect(), ClockRow::table())).await?;
    let as_of = clock.first().and_then(|c| parse_stamp(&c.as_of));
    let mut query = sql::select(db.dialect(), SenderRow::table());
    if let Some(ws) = workspace {
        query.push(" WHERE workspace_id = ").bind_text(ws.as_str());
    }
    query.push(" ORDER BY account_id");
    records::<SenderRow>(db, &query)
        .await?
        .iter()
        .map(|row| SenderHealth::from_row(row, as_of))
        .collect()
}

/// A sender's latest warnings, newest first.
pub(crate) async fn sender_warnings(
    db: &Db,
    account: &AccountId,
    limit: usize,
) -> Result<Vec<WarningView>, ViewError> {
    let mut query = sql::select(db.dialect(), WarningRow::table());
    query
        .push(" WHERE account_id = ")
        .bind_text(account.as_str())
        .push(" ORDER BY position DESC");
    push_page(&mut query, db.dialect(), Some(limit), 0);
    records::<WarningRow>(db, &query)
        .await?
        .iter()
        .map(WarningView::from_row)
        .collect()
}

/// Campaign funnels with their steps, by campaign id.
pub(crate) async fn funnel(
    db: &Db,
    workspace: Option<&WorkspaceId>,
    campaign: Option<&CampaignId>,
) -> Result<Vec<Funnel>, ViewError> {
    let mut query = sql::select(db.dialect(), CampaignFunnel::table());
    query.push(" WHERE 1 = 1");
    if let Some(ws) = workspace {
        query.push(" AND workspace_id = ").bind_text(ws.as_str());
    }
    if let Some(c) = campaign {
        query.push(" AND campaign_id = ").bind_text(c.as_str());
    }
    query.push(" ORDER BY campaign_id");
    let campaigns = records::<CampaignFunnel>(db, &query).await?;
    let keys: Vec<Key> = campaigns.iter().map(Record::key).collect();
    let steps = rows_for_keys::<StepFunnel>(db, &keys, CampaignFunnel::table(), |s| {
        vec![KeyPart::from(s.campaign_id.as_str())]
    })
    .await?;
    let mut by_campaign: BTreeMap<Key, Vec<StepFunnel>> = BTreeMap::new();
    for (key, step) in steps {
        by_campaign.entry(key).or_default().push(step);
    }
    campaigns
        .iter()
        .map(|c| Funnel::from_rows(c, &by_campaign.remove(&c.key()).unwrap_or_default()))
        .collect()
}

/// A campaign's days, oldest first.
pub(crate) async fn funnel_days(
    db: &Db,
    campaign: &CampaignId,
) -> Result<Vec<FunnelDay>, ViewError> {
    let mut query = sql::select(db.dialect(), DayFunnel::table());
    query
        .push(" WHERE campaign_id = ")
        .bind_text(campaign.as_str())
        .push(" ORDER BY day");
    records::<DayFunnel>(db, &query)
        .await?
        .iter()
        .map(FunnelDay::from_row)
        .collect()
}

/// Rows per table.
pub(crate) async fn row_counts(
    db: &Db,
    tables: &[&'static Table],
) -> Result<BTreeMap<String, u64>, ViewError> {
    let mut out = BTreeMap::new();
    for table in tables {
        let mut query = Sql::new(db.dialect());
        query.push("SELECT COUNT(*) FROM ").push(table.name);
        let rows = db.fetch(&query, &[Kind::Int]).await?;
        let n = match rows.first().map(Vec::as_slice) {
            Some([Value::Int(n)]) => u64::try_from(*n).unwrap_or(0),
            _ => 0,
        };
        out.insert(table.name.to_string(), n);
    }
    Ok(out)
}

/// Rows of `R` whose leading columns (named by `parent`'s key) match one of `keys`, each with the
/// parent key `parent_of` finds in it.
async fn rows_for_keys<R: Record>(
    db: &Db,
    keys: &[Key],
    parent: &Table,
    parent_of: impl Fn(&R) -> Key,
) -> Result<Vec<(Key, R)>, ViewError> {
    let table = R::table();
    let len = parent.key;
    let mut out = Vec::new();
    for chunk in keys.chunks(sql::keys_per_statement(db.dialect(), len)) {
        let mut query = sql::select(db.dialect(), table);
        query.push(" WHERE ");
        let refs: Vec<&Key> = chunk.iter().collect();
        // The child's leading columns are named as the parent's key columns.
        sql::push_keys(&mut query, parent, &refs);
        for row in records::<R>(db, &query).await? {
            out.push((parent_of(&row), row));
        }
    }
    Ok(out)
}

async fn records<R: Record>(db: &Db, query: &Sql<'_>) -> Result<Vec<R>, ViewError> {
    db.fetch(query, &sql::kinds(R::table()))
        .await?
        .iter()
        .map(|row| R::from_values(row).map_err(ViewError::from))
        .collect()
}

/// `LIMIT` / `OFFSET` in each database's words.
fn push_page(query: &mut Sql<'_>, dialect: Dialect, limit: Option<usize>, offset: usize) {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    match (limit, dialect) {
        (Some(n), _) => {
            query.push(" LIMIT ").bind_int(count(n));
        }
        // SQLite takes an OFFSET only after a LIMIT; -1 is "no limit".
        (None, Dialect::Sqlite) if offset > 0 => {
            query.push(" LIMIT -1");
        }
        (None, _) => {}
    }
    if offset > 0 {
        query.push(" OFFSET ").bind_int(count(offset));
    }
}
