//! What the views commands (`replay`, `inbox`, `accounts`, `funnel`) share: an existing plera
//! database (an older plera's is migrated: these commands write the views), views brought up to
//! the log's end before anything is read, and the store closed whatever happens.

use std::future::Future;

use super::db;
use super::error::CliError;
use crate::views::Views;

/// Opens the database at `url`, catches its views up unless `catch_up` is false (a rebuild
/// replays everything anyway), runs `read` on them and closes the store.
pub async fn with_views<T, F, Fut>(url: &str, catch_up: bool, read: F) -> Result<T, CliError>
where
    F: FnOnce(Views) -> Fut,
    Fut: Future<Output = Result<T, CliError>>,
{
    let store = db::open_for_views(url).await?;
    let views = Views::new(&store);
    let result = async {
        if catch_up {
            views.catch_up_all().await?;
        }
        read(views).await
    }
    .await;
    store.close().await;
    result
}

/// `text` cut to `max` characters (an ellipsis marks the cut), on one line.
pub fn excerpt(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let cut: String = line.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_fit_on_one_line_and_cut_on_characters() {
        assert_eq!(excerpt("Hi  there,\nAda", 20), "Hi there, Ada");
        assert_eq!(excerpt("ééééé", 3), "éé…");
    }
}
