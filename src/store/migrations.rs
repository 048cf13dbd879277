//! The migrations in `migrations/<database>/`, embedded in the binary so that a container
//! needs nothing beside it. A new file needs a line here.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

type Files = &'static [(i64, &'static str, &'static str)];

pub const SQLITE: Files = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "token families",
        include_str!("../../migrations/sqlite/0002_token_families.sql"),
    ),
    (
        3,
        "login throttle",
        include_str!("../../migrations/sqlite/0003_login_throttle.sql"),
    ),
    (
        4,
        "user_origin",
        include_str!("../../migrations/sqlite/0004_user_origin.sql"),
    ),
];

pub const POSTGRES: Files = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "token families",
        include_str!("../../migrations/postgres/0002_token_families.sql"),
    ),
    (
        3,
        "login throttle",
        include_str!("../../migrations/postgres/0003_login_throttle.sql"),
    ),
    (
        4,
        "user_origin",
        include_str!("../../migrations/postgres/0004_user_origin.sql"),
    ),
];

pub fn latest(files: Files) -> i64 {
    files.iter().map(|(v, _, _)| *v).max().unwrap_or(0)
}

pub fn migrator(files: Files) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sqlx::SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    )
}
