//! A campaign's leads file: CSV with a header row. `lead_id` is required (the member's provider
//! id for LinkedIn leads); `first_name`, `last_name`, `company`, `email`, `degree` (1, 2, 3 or
//! first, second, third; 2 by default) and `sender` (a configured sender's name) are read as
//! such; every other column is a template variable of that name. Fields may be quoted
//! (`"Smith, Jr."`, `""` for a quote); a quoted field cannot span lines.

use plera_actors::LeadProfile;
use plera_domain::ids::LeadId;
use plera_domain::values::ConnectionDegree;
use std::collections::BTreeSet;
use std::path::Path;

use super::error::ConfigError;

/// One lead to enroll.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadRow {
    /// The lead's id.
    pub id: LeadId,
    /// Template variables and email.
    pub profile: LeadProfile,
    /// The lead's degree to its sender.
    pub degree: ConnectionDegree,
    /// The configured sender to use, when the file says.
    pub sender: Option<String>,
}

/// Reads the leads file at `path`.
pub fn read_leads(path: &Path) -> Result<Vec<LeadRow>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Leads {
        path: path.to_path_buf(),
        line: 0,
        reason: e.to_string(),
    })?;
    parse_leads(&text, path)
}

/// Reads leads from CSV `text` (`path` only names it in errors).
pub fn parse_leads(text: &str, path: &Path) -> Result<Vec<LeadRow>, ConfigError> {
    let error = |line: usize, reason: String| ConfigError::Leads {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let (header_line, header) = lines
        .next()
        .ok_or_else(|| error(0, "the file is empty (a header row is expected)".into()))?;
    let columns: Vec<String> = split_line(header)
        .map_err(|reason| error(header_line, reason))?
        .into_iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    if !columns.iter().any(|c| c == "lead_id") {
        return Err(error(
            header_line,
            "the header has no lead_id column".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for (n, line) in lines {
        let fields = split_line(line).map_err(|reason| error(n, reason))?;
        if fields.len() != columns.len() {
            return Err(error(
                n,
                format!(
                    "{} fields where the header has {}",
                    fields.len(),
                    columns.len()
                ),
            ));
        }
        let row = row(&columns, fields).map_err(|reason| error(n, reason))?;
        if !seen.insert(row.id.clone()) {
            return Err(error(n, format!("lead `{}` is listed twice", row.id)));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn row(columns: &[String], fields: Vec<String>) -> Result<LeadRow, String> {
    let mut id = None;
    let mut degree = ConnectionDegree::Second;
    let mut sender = None;
    let mut profile = LeadProfile::default();
    for (column, value) in columns.iter().zip(fields) {
        let value = value.trim().to_string();
        match column.as_str() {
            "lead_id" if value.is_empty() => return Err("lead_id is empty".into()),
            "lead_id" => id = Some(LeadId::new(value)),
            "degree" if value.is_empty() => {}
            "degree" => degree = parse_degree(&value)?,
            "sender" if value.is_empty() => {}
            "sender" => sender = Some(value),
            "email" if value.is_empty() => {}
            "email" if !value.contains('@') => {
                return Err(format!("`{value}` is not an email address"))
            }
            "email" => profile.email = Some(value),
            // An empty cell is an unknown value: a template using it fails the step rather
            // than sending "Hi ,".
            _ if value.is_empty() => {}
            _ => {
                profile.vars.insert(column.clone(), value);
            }
        }
    }
    if !profile.vars.contains_key("full_name") {
        if let (Some(first), Some(last)) = (
            profile.vars.get("first_name"),
            profile.vars.get("last_name"),
        ) {
            let full = format!("{first} {last}");
            profile.vars.insert("full_name".into(), full);
        }
    }
    Ok(LeadRow {
        id: id.ok_or("lead_id is empty")?,
        profile,
        degree,
        sender,
    })
}

fn parse_degree(value: &str) -> Result<ConnectionDegree, String> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "first" | "1st" => Ok(ConnectionDegree::First),
        "2" | "second" | "2nd" => Ok(ConnectionDegree::Second),
        "3" | "third" | "3rd" => Ok(ConnectionDegree::Third),
        _ => Err(format!("degree `{value}` is not 1, 2 or 3")),
    }
}

/// The fields of one CSV line.
fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.trim().is_empty() && !was_quoted => {
                field.clear();
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            (false, '"') => return Err("a quote inside an unquoted field".into()),
            (false, c) if was_quoted && !c.is_whitespace() => {
                return Err("text after a closing quote".into())
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed on its line".into());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<LeadRow>, ConfigError> {
        parse_leads(text, Path::new("leads.csv"))
    }

    #[test]
    fn columns_become_profile_degree_sender_and_variables() {
        let rows = parse(
            "lead_id,first_name,last_name,company,email,degree,sender,title\n\
             li-ada,Ada,Lovelace,\"Analytical Engines, Ltd\",ada@ae.example,1,alice,CTO\n\
             \n\
             li-bob,Bob,,Acme,,,,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        let ada = &rows[0];
        assert_eq!(ada.id, LeadId::new("li-ada"));
        assert_eq!(ada.degree, ConnectionDegree::First);
        assert_eq!(ada.sender.as_deref(), Some("alice"));
        assert_eq!(ada.profile.email.as_deref(), Some("ada@ae.example"));
        assert_eq!(ada.profile.vars["company"], "Analytical Engines, Ltd");
        assert_eq!(ada.profile.vars["full_name"], "Ada Lovelace");
        assert_eq!(ada.profile.vars["title"], "CTO");
        let bob = &rows[1];
        assert_eq!(bob.degree, ConnectionDegree::Second);
        assert_eq!(
            (bob.sender.as_ref(), bob.profile.email.as_ref()),
            (None, None)
        );
        assert!(!bob.profile.vars.contains_key("last_name"));
        assert!(!bob.profile.vars.contains_key("full_name"));
    }

    #[test]
    fn quotes_escape_quotes_and_commas() {
        assert_eq!(
            split_line(r#"a,"b ""c"", d",e"#).unwrap(),
            vec!["a", "b \"c\", d", "e"]
        );
        assert!(split_line(r#"a,"b"#).is_err());
        assert!(split_line(r#"a,b"c"#).is_err());
        assert!(split_line(r#"a,"b"c"#).is_err());
    }

    #[test]
    fn bad_files_name_their_line() {
        let line_of = |text: &str| match parse(text) {
            Err(ConfigError::Leads { line, .. }) => line,
            other => panic!("{text:?} gave {other:?}"),
        };
        assert_eq!(line_of(""), 0);
        assert_eq!(line_of("first_name\nAda\n"), 1);
        assert_eq!(line_of("lead_id,first_name\nli-1,Ada\nli-2\n"), 3);
        assert_eq!(line_of("lead_id,degree\nli-1,4\n"), 2);
        assert_eq!(line_of("lead_id\nli-1\n\nli-1\n"), 4);
        assert_eq!(line_of("lead_id,email\nli-1,not-an-address\n"), 2);
        assert_eq!(line_of("lead_id,email\n,a@b.example\n"), 2);
    }
}
