//! Django's password validation (`django.contrib.auth.password_validation`, Django 5.2): the
//! four validators a new Django project turns on, with Django's messages, behaviour and
//! order, so that a password jwtd accepts is one Django would accept and a refusal reads as
//! Django's. Every validator runs and every refusal is reported, in the configured order.
//!
//! The common-password list is Django's own `common-passwords.txt.gz` (19,640 lower-cased
//! entries), kept here uncompressed: the compressed file would save ~80 KB of the binary but
//! need an inflate crate jwtd does not otherwise use, and the plain file shows in diffs.

pub(crate) mod python;

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

/// One of Django's default validators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validator {
    /// `UserAttributeSimilarityValidator`: not too similar to the username, first name,
    /// last name or e-mail address (Django's `max_similarity = 0.7`).
    Similarity,
    /// `MinimumLengthValidator`: at least `min_length` characters.
    MinLength,
    /// `CommonPasswordValidator`: not in Django's list of common passwords.
    Common,
    /// `NumericPasswordValidator`: not only digits.
    Numeric,
}

/// The module of Django's validators: a name may be given with it, as
/// `AUTH_PASSWORD_VALIDATORS` spells them.
const DJANGO_MODULE: &str = "django.contrib.auth.password_validation.";

impl Validator {
    /// Django's default order (`AUTH_PASSWORD_VALIDATORS` of a new project).
    pub const DJANGO_DEFAULT: [Validator; 4] = [
        Validator::Similarity,
        Validator::MinLength,
        Validator::Common,
        Validator::Numeric,
    ];

    /// The short name used in jwtd's settings.
    pub fn name(self) -> &'static str {
        match self {
            Validator::Similarity => "similarity",
            Validator::MinLength => "min_length",
            Validator::Common => "common",
            Validator::Numeric => "numeric",
        }
    }

    /// Django's class name.
    pub fn class_name(self) -> &'static str {
        match self {
            Validator::Similarity => "UserAttributeSimilarityValidator",
            Validator::MinLength => "MinimumLengthValidator",
            Validator::Common => "CommonPasswordValidator",
            Validator::Numeric => "NumericPasswordValidator",
        }
    }

    /// A validator by its short name or Django's class name, bare or with Django's module
    /// (`django.contrib.auth.password_validation.MinimumLengthValidator`).
    pub fn from_name(name: &str) -> Option<Validator> {
        let bare = name.strip_prefix(DJANGO_MODULE).unwrap_or(name);
        Validator::DJANGO_DEFAULT
            .into_iter()
            .find(|v| v.name() == name || v.class_name() == bare)
    }
}

/// A validator name that is none of Django's four. Its message follows the settings'
/// wording for a value out of a list: `"numerc" is not one of similarity, min_length,
/// common, numeric; did you mean "numeric"?`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValidator(pub String);

impl fmt::Display for UnknownValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Validator::DJANGO_DEFAULT.iter().map(|v| v.name()).collect();
        write!(
            f,
            "{:?} is not one of {} (or Django's class names of them)",
            self.0,
            names.join(", ")
        )?;
        let given = self
            .0
            .strip_prefix(DJANGO_MODULE)
            .unwrap_or(&self.0)
            .to_ascii_lowercase();
        let nearest = Validator::DJANGO_DEFAULT
            .iter()
            .flat_map(|v| [v.name(), v.class_name()])
            .map(|known| (strsim::levenshtein(&known.to_ascii_lowercase(), &given), known))
            .min_by_key(|(distance, _)| *distance)
            .filter(|(distance, _)| *distance <= 2);
        if let Some((_, known)) = nearest {
            write!(f, "; did you mean {known:?}?")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownValidator {}

/// The validators of a `password_validators` list, in its order; the first unknown name is
/// the error. An empty list validates nothing (Django's `AUTH_PASSWORD_VALIDATORS = []`).
pub fn parse_validators<S: AsRef<str>>(names: &[S]) -> Result<Vec<Validator>, UnknownValidator> {
    names
        .iter()
        .map(|name| {
            let name = name.as_ref();
            Validator::from_name(name).ok_or_else(|| UnknownValidator(name.to_string()))
        })
        .collect()
}

/// What the similarity check compares a password with (empty fields are skipped, as Django
/// skips empty attributes).
#[derive(Debug, Clone, Copy, Default)]
pub struct UserAttributes<'a> {
    pub username: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
}

impl<'a> UserAttributes<'a> {
    /// The attributes in Django's order (`DEFAULT_USER_ATTRIBUTES`), each with the verbose
    /// name of `AbstractUser`'s field, which the message shows.
    fn named(&self) -> [(&'a str, &'static str); 4] {
        [
            (self.username, "username"),
            (self.first_name, "first name"),
            (self.last_name, "last name"),
            (self.email, "email address"),
        ]
    }
}

/// Which validators run, in which order, and the minimum length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    validators: Vec<Validator>,
    min_length: usize,
}

/// `UserAttributeSimilarityValidator`'s default `max_similarity`.
const MAX_SIMILARITY: f64 = 0.7;

/// `MinimumLengthValidator`'s default `min_length`.
pub const DEFAULT_MIN_LENGTH: usize = 8;

impl Default for PasswordPolicy {
    /// Django's defaults: the four validators in a new project's order, 8 characters.
    fn default() -> Self {
        PasswordPolicy::new(Validator::DJANGO_DEFAULT.to_vec(), DEFAULT_MIN_LENGTH)
    }
}

impl PasswordPolicy {
    pub fn new(validators: Vec<Validator>, min_length: usize) -> Self {
        PasswordPolicy {
            validators,
            min_length,
        }
    }

    /// The policy of the `password_validators` and `password_min_length` settings.
    pub fn from_names<S: AsRef<str>>(names: &[S], min_length: usize) -> Result<Self, UnknownValidator> {
        Ok(PasswordPolicy::new(parse_validators(names)?, min_length))
    }

    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    pub fn min_length(&self) -> usize {
        self.min_length
    }

    /// Django's `validate_password`: every validator's message, in the policy's order.
    pub fn validate(&self, password: &str, user: &UserAttributes<'_>) -> Result<(), Vec<String>> {
        let errors: Vec<String> = self
            .validators
            .iter()
            .filter_map(|v| match v {
                Validator::Similarity => too_similar(password, user)
                    .map(|name| format!("The password is too similar to the {name}.")),
                Validator::MinLength => (password.chars().count() < self.min_length).then(|| {
                    // Django's ngettext: English has "character" for 1 only.
                    let unit = if self.min_length == 1 {
                        "character"
                    } else {
                        "characters"
                    };
                    format!(
                        "This password is too short. It must contain at least {} {unit}.",
                        self.min_length
                    )
                }),
                Validator::Common => is_common(password).then(|| "This password is too common.".into()),
                Validator::Numeric => {
                    python::is_digits(password).then(|| "This password is entirely numeric.".into())
                }
            })
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// `UserAttributeSimilarityValidator.validate`: the verbose name of the first attribute the
/// lower-cased password is too similar to — to the whole value or to one of its parts split
/// at non-word characters (so either part of an e-mail address counts).
fn too_similar(password: &str, user: &UserAttributes<'_>) -> Option<&'static str> {
    let password: Vec<char> = password.to_lowercase().chars().collect();
    for (value, verbose_name) in user.named() {
        if value.is_empty() {
            continue;
        }
        let value = value.to_lowercase();
        let parts = python::split_non_word(&value);
        for part in parts.into_iter().chain([value.as_str()]) {
            let part: Vec<char> = part.chars().collect();
            if exceeds_maximum_length_ratio(password.len(), part.len()) {
                continue;
            }
            if python::quick_ratio(&password, &part) >= MAX_SIMILARITY {
                return Some(verbose_name);
            }
        }
    }
    None
}

/// Django's `exceeds_maximum_length_ratio`: a value this much shorter than the password
/// cannot reach `MAX_SIMILARITY`, and is not compared (lengths in characters).
fn exceeds_maximum_length_ratio(password_len: usize, value_len: usize) -> bool {
    let length_bound_similarity = MAX_SIMILARITY / 2.0 * password_len as f64;
    password_len >= 10 * value_len && (value_len as f64) < length_bound_similarity
}

/// Django's list, one lower-cased password a line.
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

/// Built at the first look-up.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| COMMON_PASSWORDS.lines().collect());

/// `CommonPasswordValidator.validate`: `password.lower().strip()` is in the list.
fn is_common(password: &str) -> bool {
    COMMON.contains(python::strip(&password.to_lowercase()))
}

#[cfg(test)]
mod tests;
