//! The admin listing of users: DRF's `SearchFilter` and `OrderingFilter` over the `users`
//! table, with page-number pagination's count. The query is put together from fixed
//! fragments (the ordering is an enum, never text from the request) and the search terms
//! are bound, escaped for `LIKE` (`%`, `_`, `\`) or quoted as FTS5 phrases. Postgres finds
//! them with trigram indexes (pg_trgm) where it has them, SQLite with an FTS5 trigram
//! index; both are kept by the database itself (see migration 0007).

use super::{Database, Pool, Result, User};

/// A column the listing may be ordered by (`ordering=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderingField {
    Id,
    Username,
    DateJoined,
    LastLogin,
}

/// `ordering=`: a field, `-` in front for descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ordering {
    pub field: OrderingField,
    pub descending: bool,
}

impl Default for Ordering {
    fn default() -> Self {
        Ordering {
            field: OrderingField::Id,
            descending: false,
        }
    }
}

impl Ordering {
    /// `id`, `username`, `date_joined` or `last_login`, each possibly after `-`.
    pub fn parse(s: &str) -> Option<Ordering> {
        let (descending, name) = match s.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, s),
        };
        let field = match name {
            "id" => OrderingField::Id,
            "username" => OrderingField::Username,
            "date_joined" => OrderingField::DateJoined,
            "last_login" => OrderingField::LastLogin,
            _ => return None,
        };
        Some(Ordering { field, descending })
    }

    /// The `ORDER BY` clause. The id follows the field so that pages never overlap. Postgres
    /// puts NULLs (a `last_login` never set) after every value in ascending order, SQLite
    /// before: both are told Postgres's order, which Django on Postgres shows.
    fn sql(self) -> &'static str {
        use OrderingField::*;
        match (self.field, self.descending) {
            (Id, false) => " ORDER BY id",
            (Id, true) => " ORDER BY id DESC",
            (Username, false) => " ORDER BY username, id",
            (Username, true) => " ORDER BY username DESC, id DESC",
            (DateJoined, false) => " ORDER BY date_joined, id",
            (DateJoined, true) => " ORDER BY date_joined DESC, id DESC",
            (LastLogin, false) => " ORDER BY last_login ASC NULLS LAST, id",
            (LastLogin, true) => " ORDER BY last_login DESC NULLS FIRST, id DESC",
        }
    }
}

/// `GET /api/admin/users/`'s query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// DRF's `search`, as its `search_smart_split` splits it: a user is listed when every
    /// term is in (case-insensitively) the username, email, first or last name.
    pub terms: Vec<String>,
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
    pub ordering: Ordering,
    pub offset: i64,
    pub limit: i64,
}

/// More terms than this are ignored: each adds four comparisons per row.
const MAX_TERMS: usize = 10;

/// `term` as a `LIKE` pattern matching any text that contains it, with `ESCAPE '\'`.
pub(super) fn contains_pattern(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `term` as an FTS5 phrase (in double quotes, its own doubled): with the trigram
/// tokenizer, a row matches when a column contains it.
fn phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// How the search is put to the database.
struct Search {
    /// Terms compared with `$like` in each of the four columns.
    like: Vec<String>,
    /// SQLite: the terms the trigram index finds (three characters or more), as one FTS5
    /// query that every one of them must match.
    fts: Option<String>,
}

impl Search {
    fn new(terms: &[&str], sqlite: bool) -> Search {
        if !sqlite {
            return Search {
                like: terms.iter().map(|t| contains_pattern(t)).collect(),
                fts: None,
            };
        }
        // Shorter terms have no trigram: they scan, with LIKE.
        let (indexed, short): (Vec<&str>, Vec<&str>) = terms.iter().partition(|t| t.chars().count() >= 3);
        Search {
            like: short.into_iter().map(contains_pattern).collect(),
            fts: (!indexed.is_empty())
                .then(|| indexed.into_iter().map(phrase).collect::<Vec<_>>().join(" AND ")),
        }
    }
}

/// Adds the query's conditions to a query ending in `WHERE TRUE`. `$like` is the database's
/// case-insensitive `LIKE`: Postgres's `ILIKE` folds case as the database's collation
/// does; SQLite's `LIKE` (used for terms of one or two characters) folds ASCII letters
/// only, its trigram index every alphabet's.
macro_rules! push_user_filter {
    ($q:ident, $query:expr, $search:expr, $like:expr) => {
        if let Some(fts) = &$search.fts {
            $q.push(" AND id IN (SELECT rowid FROM users_search WHERE users_search MATCH ")
                .push_bind(fts)
                .push(")");
        }
        for term in &$search.like {
            $q.push(" AND (");
            for (i, column) in ["username", "email", "first_name", "last_name"]
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    $q.push(" OR ");
                }
                $q.push(column).push($like).push_bind(term).push(" ESCAPE '\\'");
            }
            $q.push(")");
        }
        if let Some(active) = $query.is_active {
            $q.push(" AND is_active = ").push_bind(active);
        }
        if let Some(staff) = $query.is_staff {
            $q.push(" AND is_staff = ").push_bind(staff);
        }
    };
}

/// A user of the page and how many users the query selects in all.
#[derive(sqlx::FromRow)]
struct Counted {
    #[sqlx(flatten)]
    user: User,
    total: i64,
}

impl Database {
    /// A page of the users `query` selects, in its order, and how many it selects.
    pub async fn search_users(&self, query: &UserQuery) -> Result<(Vec<User>, i64)> {
        let terms: Vec<&str> = query.terms.iter().take(MAX_TERMS).map(String::as_str).collect();
        // No stored name or address holds a NUL (DRF's and Django's fields refuse it), and
        // Postgres refuses one in any text parameter (a 500 for `search=%00` before):
        // such a term matches no one, without asking.
        if terms.iter().any(|t| t.contains('\0')) {
            return Ok((Vec::new(), 0));
        }
        let (search, like) = match &self.pool {
            Pool::Sqlite { .. } => (Search::new(&terms, true), " LIKE "),
            Pool::Postgres(_) => (Search::new(&terms, false), " ILIKE "),
        };
        on_pool!(self, read, |db| {
            // One pass over the matches: the CTE finds them once (through the search index)
            // with only the columns the orderings need; the count and the page's ids are
            // read off it, and only the page's rows are fetched whole.
            let mut list = sqlx::QueryBuilder::new(
                "WITH m AS MATERIALIZED (SELECT id, username, date_joined, last_login FROM users WHERE TRUE",
            );
            push_user_filter!(list, query, search, like);
            list.push(concat!(
                ") SELECT ",
                user_columns!(),
                ", (SELECT COUNT(*) FROM m) AS total FROM users WHERE id IN (SELECT id FROM m"
            ))
            .push(query.ordering.sql())
            .push(" LIMIT ")
            .push_bind(query.limit)
            .push(" OFFSET ")
            .push_bind(query.offset)
            .push(")")
            .push(query.ordering.sql());
            let rows: Vec<Counted> = list.build_query_as().fetch_all(db).await?;
            let total = match rows.first() {
                Some(row) => row.total,
                // A first page that has room and is empty: nothing matches.
                None if query.offset == 0 && query.limit > 0 => 0,
                // A page past the end (or one of no rows, asked for the count alone) has no
                // row to carry the count.
                None => {
                    let mut count = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM users WHERE TRUE");
                    push_user_filter!(count, query, search, like);
                    count.build_query_scalar().fetch_one(db).await?
                }
            };
            (rows.into_iter().map(|row| row.user).collect::<Vec<User>>(), total)
        })
        .await
    }
}
