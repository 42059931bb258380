//! Rows as plain values: what the views produce and what a storage adapter writes into SQL tables.
//!
//! A view names its tables ([`Table`]: columns in order, the first `key` of them the primary key)
//! and works on typed rows ([`Record`]); the runner only ever sees [`Value`]s, so one runner serves
//! every view on every database. Three column kinds keep the SQL portable and the rows comparable
//! byte for byte: integers (booleans are 0/1), reals (rates only) and text (ids, enums, JSON,
//! timestamps as fixed-width RFC 3339 UTC so that text order is time order).

use std::cmp::Ordering;

use crate::ProjectionError;

/// The kind of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 64-bit integer (counts, positions, booleans as 0/1).
    Int,
    /// Double precision (rates).
    Real,
    /// Text (ids, enum tags, timestamps, JSON).
    Text,
}

/// One column of a view table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// Its kind.
    pub kind: Kind,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// A view table: columns in order; the first `key` columns are the primary key.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    /// Table name.
    pub name: &'static str,
    /// Columns in order.
    pub columns: &'static [Column],
    /// How many leading columns form the primary key.
    pub key: usize,
}

impl Table {
    /// The primary-key columns.
    pub fn key_columns(&self) -> &'static [Column] {
        let n = self.key.min(self.columns.len());
        &self.columns[..n]
    }

    /// The key of a full row of this table.
    pub fn key_of(&self, row: &[Value]) -> Result<Key, ProjectionError> {
        let parts = row
            .get(..self.key)
            .ok_or_else(|| self.error("row shorter than key"))?;
        parts
            .iter()
            .map(|v| KeyPart::try_from(v).map_err(|reason| self.error(reason)))
            .collect()
    }

    /// Writes the key of a full row into `key` (as [`Table::key_of`] makes it), reusing the
    /// text of the key it held: a snapshot replacing rows in bulk allocates no key per row.
    pub(crate) fn key_into(&self, row: &[Value], key: &mut Key) -> Result<(), ProjectionError> {
        let parts = row
            .get(..self.key)
            .ok_or_else(|| self.error("row shorter than key"))?;
        key.truncate(parts.len());
        for (i, value) in parts.iter().enumerate() {
            match (key.get_mut(i), value) {
                (Some(KeyPart::Text(text)), Value::Text(s)) => {
                    text.clear();
                    text.push_str(s);
                }
                (Some(part), value) => {
                    *part = KeyPart::try_from(value).map_err(|reason| self.error(reason))?;
                }
                (None, value) => {
                    key.push(KeyPart::try_from(value).map_err(|reason| self.error(reason))?);
                }
            }
        }
        Ok(())
    }

    /// An error about this table.
    pub fn error(&self, reason: impl Into<String>) -> ProjectionError {
        ProjectionError::Row {
            table: self.name,
            reason: reason.into(),
        }
    }
}

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A real.
    Real(f64),
    /// Text.
    Text(String),
}

/// One part of a primary key: keys are integers or text, never NULL or real.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyPart {
    /// An integer key column.
    Int(i64),
    /// A text key column.
    Text(String),
}

/// A primary key (or a prefix of one), in column order.
pub type Key = Vec<KeyPart>;

/// The hasher of keys kept in hash maps, seeded at random per process. Keys are ids that come
/// from outside (leads an embedding service imports, a provider's message ids): with a seed
/// anyone can read in this source, such ids could be chosen to collide and turn a rebuild
/// quadratic. Nothing is read back in hash order, so the rows never depend on the seed.
pub type KeyHasher = foldhash::fast::RandomState;

impl TryFrom<&Value> for KeyPart {
    type Error = &'static str;

    fn try_from(value: &Value) -> Result<Self, Self::Error> {
        match value {
            Value::Int(i) => Ok(KeyPart::Int(*i)),
            Value::Text(s) => Ok(KeyPart::Text(s.clone())),
            Value::Null | Value::Real(_) => Err("a key column holds NULL or a real"),
        }
    }
}

impl From<&KeyPart> for Value {
    fn from(part: &KeyPart) -> Self {
        match part {
            KeyPart::Int(i) => Value::Int(*i),
            KeyPart::Text(s) => Value::Text(s.clone()),
        }
    }
}

impl From<&str> for KeyPart {
    fn from(s: &str) -> Self {
        KeyPart::Text(s.to_owned())
    }
}

impl From<String> for KeyPart {
    fn from(s: String) -> Self {
        KeyPart::Text(s)
    }
}

impl From<i64> for KeyPart {
    fn from(i: i64) -> Self {
        KeyPart::Int(i)
    }
}

/// A Rust type that maps to one column kind.
pub trait Cell: Sized {
    /// The column kind.
    const KIND: Kind;
    /// Whether NULL is allowed.
    const NULLABLE: bool;
    /// The cell value.
    fn to_value(&self) -> Value;
    /// The cell value, moving the cell's text instead of copying it.
    fn into_value(self) -> Value {
        self.to_value()
    }
    /// Reads the cell back; `None` when the value does not fit.
    fn from_value(value: &Value) -> Option<Self>;
    /// The cell as a key part (what [`Table::key_of`] makes of its value), built without the
    /// value in between; `None` for a cell no key may hold (NULL, a real).
    fn key_part(&self) -> Option<KeyPart>;
    /// Whether the cell is `value` (`to_value() == value`, without building the value): a
    /// stage compares a row it wrote with the loaded one without cloning its text.
    fn eq_value(&self, value: &Value) -> bool {
        self.to_value() == *value
    }
}

impl Cell for i64 {
    const KIND: Kind = Kind::Int;
    const NULLABLE: bool = false;
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    fn key_part(&self) -> Option<KeyPart> {
        Some(KeyPart::Int(*self))
    }
    fn eq_value(&self, value: &Value) -> bool {
        matches!(value, Value::Int(i) if i == self)
    }
}

impl Cell for bool {
    const KIND: Kind = Kind::Int;
    const NULLABLE: bool = false;
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(0) => Some(false),
            Value::Int(1) => Some(true),
            _ => None,
        }
    }
    fn key_part(&self) -> Option<KeyPart> {
        Some(KeyPart::Int(i64::from(*self)))
    }
    fn eq_value(&self, value: &Value) -> bool {
        matches!(value, Value::Int(i) if *i == i64::from(*self))
    }
}

impl Cell for f64 {
    const KIND: Kind = Kind::Real;
    const NULLABLE: bool = false;
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Real(r) => Some(*r),
            _ => None,
        }
    }
    fn key_part(&self) -> Option<KeyPart> {
        None
    }
    fn eq_value(&self, value: &Value) -> bool {
        matches!(value, Value::Real(r) if r == self)
    }
}

impl Cell for String {
    const KIND: Kind = Kind::Text;
    const NULLABLE: bool = false;
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Text(self)
    }
    fn key_part(&self) -> Option<KeyPart> {
        Some(KeyPart::Text(self.clone()))
    }
    fn eq_value(&self, value: &Value) -> bool {
        matches!(value, Value::Text(s) if s == self)
    }
}

impl<T: Cell> Cell for Option<T> {
    const KIND: Kind = T::KIND;
    const NULLABLE: bool = true;
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
    fn into_value(self) -> Value {
        self.map_or(Value::Null, T::into_value)
    }
    fn key_part(&self) -> Option<KeyPart> {
        self.as_ref().and_then(T::key_part)
    }
    fn eq_value(&self, value: &Value) -> bool {
        match self {
            None => *value == Value::Null,
            Some(cell) => cell.eq_value(value),
        }
    }
}

/// A typed row of one view table. Owned and cloneable (`'static + Clone`): a [`Stage`] keeps
/// the rows a batch writes typed, and hands out copies.
///
/// [`Stage`]: crate::stage::Stage
pub trait Record: Clone + Sized + 'static {
    /// The table.
    fn table() -> &'static Table;
    /// The row's cells in column order.
    fn to_values(&self) -> Vec<Value>;
    /// The row's cells in column order, moving its text instead of copying it.
    fn into_values(self) -> Vec<Value> {
        self.to_values()
    }
    /// Reads a row back from its cells.
    fn from_values(values: &[Value]) -> Result<Self, ProjectionError>;
    /// The row's primary key.
    fn key(&self) -> Key {
        // Key columns of a declared record are ints or text by construction.
        Self::table().key_of(&self.to_values()).unwrap_or_default()
    }
    /// Whether the row's cells are `values` (`to_values() == values`; a declared record compares
    /// cell by cell, without building its values).
    fn eq_values(&self, values: &[Value]) -> bool {
        self.to_values() == values
    }
}

/// Reads one cell of a record, naming the column when it does not fit.
pub fn cell<T: Cell>(
    table: &'static str,
    column: &'static str,
    value: Option<&Value>,
) -> Result<T, ProjectionError> {
    value
        .and_then(T::from_value)
        .ok_or_else(|| ProjectionError::Row {
            table,
            reason: format!("column {column} holds {value:?}"),
        })
}

/// Declares a typed row: the struct, its [`Table`] and its [`Record`] impl, from one field list.
/// The first `key` fields form the primary key.
#[macro_export]
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident in $table:literal, key $key:literal {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty ),*
        }

        impl $crate::rows::Record for $name {
            fn table() -> &'static $crate::rows::Table {
                static TABLE: $crate::rows::Table = $crate::rows::Table {
                    name: $table,
                    key: $key,
                    columns: &[ $( $crate::rows::Column {
                        name: stringify!($field),
                        kind: <$ty as $crate::rows::Cell>::KIND,
                        nullable: <$ty as $crate::rows::Cell>::NULLABLE,
                    } ),* ],
                };
                &TABLE
            }

            fn to_values(&self) -> Vec<$crate::rows::Value> {
                vec![ $( $crate::rows::Cell::to_value(&self.$field) ),* ]
            }

            fn into_values(self) -> Vec<$crate::rows::Value> {
                vec![ $( $crate::rows::Cell::into_value(self.$field) ),* ]
            }

            fn key(&self) -> $crate::rows::Key {
                // The first `key` fields, as `Table::key_of` reads them from the values (and,
                // like the default, no key when one of them can be no key part).
                let mut key = ::std::vec::Vec::with_capacity($key);
                $(
                    if key.len() < $key {
                        match $crate::rows::Cell::key_part(&self.$field) {
                            Some(part) => key.push(part),
                            None => return ::std::vec::Vec::new(),
                        }
                    }
                )*
                key
            }

            fn eq_values(&self, values: &[$crate::rows::Value]) -> bool {
                let table = <Self as $crate::rows::Record>::table();
                let mut cells = values.iter();
                values.len() == table.columns.len()
                    $( && cells
                        .next()
                        .is_some_and(|v| $crate::rows::Cell::eq_value(&self.$field, v)) )*
            }

            fn from_values(
                values: &[$crate::rows::Value],
            ) -> Result<Self, $crate::ProjectionError> {
                let table = <Self as $crate::rows::Record>::table();
                if values.len() != table.columns.len() {
                    return Err(table.error(format!(
                        "{} cells for {} columns",
                        values.len(),
                        table.columns.len()
                    )));
                }
                let mut cells = values.iter();
                Ok(Self {
                    $( $field: $crate::rows::cell::<$ty>(
                        $table,
                        stringify!($field),
                        cells.next(),
                    )? ),*
                })
            }
        }
    };
}

/// What a batch changes in a view's tables: the final state of every row it touched.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Insert or replace the row with this key.
    Upsert {
        /// The table.
        table: &'static Table,
        /// The full row.
        row: Vec<Value>,
    },
    /// Delete the row with this key.
    Delete {
        /// The table.
        table: &'static Table,
        /// The key.
        key: Key,
    },
}

impl Change {
    /// The table the change is for.
    pub fn table(&self) -> &'static Table {
        match self {
            Change::Upsert { table, .. } | Change::Delete { table, .. } => table,
        }
    }
}

/// Orders tables by name (tables are statics; two with one name are the same table).
pub(crate) fn cmp_tables(a: &Table, b: &Table) -> Ordering {
    a.name.cmp(b.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::record! {
        /// A row for the tests.
        pub struct Sample in "sample", key 2 {
            /// Key 1.
            pub a: String,
            /// Key 2.
            pub b: i64,
            /// Nullable text.
            pub c: Option<String>,
            /// A flag.
            pub d: bool,
            /// A rate.
            pub e: Option<f64>,
        }
    }

    #[test]
    fn a_record_round_trips_through_values() {
        let row = Sample {
            a: "x".into(),
            b: 3,
            c: None,
            d: true,
            e: Some(0.5),
        };
        let values = row.to_values();
        assert_eq!(
            values,
            vec![
                Value::Text("x".into()),
                Value::Int(3),
                Value::Null,
                Value::Int(1),
                Value::Real(0.5)
            ]
        );
        assert_eq!(Sample::from_values(&values).unwrap(), row);
        assert_eq!(row.key(), vec![KeyPart::from("x"), KeyPart::Int(3)]);
        let table = Sample::table();
        assert_eq!(table.key_columns().len(), 2);
        assert_eq!(table.columns[2].kind, Kind::Text);
        assert!(table.columns[2].nullable);
        assert!(!table.columns[3].nullable);
    }

    #[test]
    fn a_cell_of_the_wrong_kind_is_an_error_naming_the_column() {
        let values = vec![
            Value::Text("x".into()),
            Value::Text("not a number".into()),
            Value::Null,
            Value::Int(0),
            Value::Null,
        ];
        let err = Sample::from_values(&values).unwrap_err();
        assert!(err.to_string().contains("column b"), "{err}");
        assert!(Sample::from_values(&values[..2]).is_err());
    }
}
