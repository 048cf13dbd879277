//! Django's field validators for users, with Django's messages: `UnicodeUsernameValidator`
//! with the username's 150 characters, `EmailValidator`, and the names' lengths.

use crate::passwords::policy::python::is_word;

/// Django's `AbstractUser.username.max_length` (and first and last name's).
pub const NAME_MAX_LENGTH: usize = 150;
/// `AbstractUser.email` is an `EmailField` of 254 characters.
pub const EMAIL_MAX_LENGTH: usize = 254;

pub const INVALID_USERNAME: &str =
    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
pub const INVALID_EMAIL: &str = "Enter a valid email address.";
pub const USERNAME_TAKEN: &str = "A user with that username already exists.";

/// DRF's `MaxLengthValidator` message.
pub fn too_long(max: usize) -> String {
    format!("Ensure this field has no more than {max} characters.")
}

/// The username's validators in the order DRF's `ModelSerializer` runs them
/// (`UnicodeUsernameValidator`, then the length): every message. The unique check is the
/// caller's, with the database.
pub fn username_errors(name: &str) -> Vec<String> {
    let mut errors = Vec::new();
    // `^[\w.@+-]+\Z` with Python's Unicode `\w`.
    if name.is_empty()
        || !name
            .chars()
            .all(|c| is_word(c) || matches!(c, '.' | '@' | '+' | '-'))
    {
        errors.push(INVALID_USERNAME.to_string());
    }
    if name.chars().count() > NAME_MAX_LENGTH {
        errors.push(too_long(NAME_MAX_LENGTH));
    }
    errors
}

/// An `EmailField(blank=True)`: blank passes; else the length, then Django's validator.
pub fn email_errors(email: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if email.is_empty() {
        return errors;
    }
    if email.chars().count() > EMAIL_MAX_LENGTH {
        errors.push(too_long(EMAIL_MAX_LENGTH));
    }
    if !is_valid_email(email) {
        errors.push(INVALID_EMAIL.to_string());
    }
    errors
}

/// First and last name: `CharField(max_length=150, blank=True)`.
pub fn name_errors(name: &str) -> Vec<String> {
    if name.chars().count() > NAME_MAX_LENGTH {
        vec![too_long(NAME_MAX_LENGTH)]
    } else {
        Vec::new()
    }
}

/// Django's `EmailValidator` (4.2 to 5.x), whose "Enter a valid email address." the admin
/// API, registration and `jwtd user create` answer with: an address of at most 320 characters, split at its
/// last `@`; a dot-atom or quoted-string local part; and a domain of dot-separated labels
/// ending in a label of at least two characters, `localhost`, or an IP address in brackets.
/// An internationalized domain is checked in its ASCII (punycode) form.
pub fn is_valid_email(value: &str) -> bool {
    if value.is_empty() || value.chars().count() > 320 {
        return false;
    }
    let Some((user, domain)) = value.rsplit_once('@') else {
        return false;
    };
    if !(is_dot_atom(user) || is_quoted_string(user)) {
        return false;
    }
    if domain == "localhost" || is_valid_domain_part(domain) {
        return true;
    }
    // Django checks an internationalized domain in its punycode form, which keeps the
    // labels where they are and turns each into ASCII letters, digits and hyphens: a
    // letter stands for each non-ASCII character here (a label's encoded length is not
    // checked).
    !domain.is_ascii() && is_valid_domain_part(&domain.replace(|c: char| !c.is_ascii(), "a"))
}

/// A letter as Python's `[A-Z]` with `re.IGNORECASE` reads one: the ASCII letters and the
/// four characters that case-fold onto them.
fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '\u{130}' | '\u{131}' | '\u{17f}' | '\u{212a}')
}

/// `^[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*\Z`
fn is_dot_atom(user: &str) -> bool {
    user.split('.').all(|atom| {
        !atom.is_empty()
            && atom
                .chars()
                .all(|c| is_letter(c) || c.is_ascii_digit() || "-!#$%&'*+/=?^_`{}|~".contains(c))
    })
}

/// `^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z`
fn is_quoted_string(user: &str) -> bool {
    let Some(inner) = user.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) else {
        return false;
    };
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        let ok = match c {
            '\\' => chars
                .next()
                .is_some_and(|q| matches!(q, '\u{1}'..='\u{9}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{7f}')),
            '\u{1}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '!' | '#'..='[' | ']'..='\u{7f}' => {
                true
            }
            c => is_letter(c),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// `((?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+)(?:[A-Z0-9-]{2,63}(?<!-))\Z`, or an IPv4
/// or IPv6 address in brackets.
fn is_valid_domain_part(domain: &str) -> bool {
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return !literal.is_empty()
            && literal
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            && literal.parse::<std::net::IpAddr>().is_ok();
    }
    let alnum = |c: char| is_letter(c) || c.is_ascii_digit();
    let Some((labels, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    let tld_ok = (2..=63).contains(&tld.chars().count())
        && tld.chars().all(|c| alnum(c) || c == '-')
        && !tld.ends_with('-');
    tld_ok
        && labels.split('.').all(|label| {
            let n = label.chars().count();
            (1..=63).contains(&n)
                && label.chars().all(|c| alnum(c) || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_as_django_validates_them() {
        for ok in ["alice", "a.b@c+d-e_f", "Zoë", "名前", "x".repeat(150).as_str()] {
            assert!(username_errors(ok).is_empty(), "{ok}");
        }
        assert_eq!(username_errors("a b"), vec![INVALID_USERNAME]);
        assert_eq!(username_errors(""), vec![INVALID_USERNAME]);
        assert_eq!(
            username_errors("a\u{301}"),
            vec![INVALID_USERNAME],
            "a combining mark is not \\w"
        );
        assert_eq!(username_errors(&"x".repeat(151)), vec![too_long(150)]);
        assert_eq!(
            username_errors(&"!".repeat(151)),
            vec![INVALID_USERNAME.to_string(), too_long(150)]
        );
    }

    /// Cases from Django's own tests of `validate_email`.
    #[test]
    fn email_addresses_as_django_validates_them() {
        for valid in [
            "email@here.com",
            "weirder-email@here.and.there.com",
            "email@[127.0.0.1]",
            "email@[2001:dB8::1]",
            "email@[2001:dB8:0:0:0:0:0:1]",
            "email@[::fffF:127.0.0.1]",
            "example@valid-----hyphens.com",
            "example@valid-with-hyphens.com",
            "test@domain.with.idn.tld.\u{0909}\u{0926}\u{093e}\u{0939}\u{0930}\u{0923}.\u{092a}\u{0930}\u{0940}\u{0915}\u{094d}\u{0937}\u{093e}",
            "email@localhost",
            "\"test@test\"@example.com",
            "\"\\\u{b}\"@here.com",
            "\"\\\t\"@here.com",
            "a@b.co",
            "first.last+tag@sub.example.org",
        ] {
            assert!(is_valid_email(valid), "{valid:?}");
        }
        for invalid in [
            "",
            "abc",
            "abc@",
            "abc@bar",
            "a @x.cz",
            "abc@.com",
            "something@@somewhere.com",
            "email@127.0.0.1",
            "email@[127.0.0.256]",
            "email@[2001:db8::12345]",
            "email@[2001:db8:0:0:0:0:1]",
            "email@[::ffff:127.0.0.256]",
            "email@[2001:dg8::1]",
            "email@[2001:dG8:0:0:0:0:0:1]",
            "email@[::fTzF:127.0.0.1]",
            "example@invalid-.com",
            "example@-invalid.com",
            "example@invalid.com-",
            "example@inv-.alid-.com",
            "example@inv-.-alid.com",
            "test@example.com\n\n<script src=\"x.js\">",
            "\"\\\n\"@here.com",
            "trailingdot@shouldfail.com.",
            "a@b.c",
            "email@localhost\n",
            "first..last@example.com",
            ".first@example.com",
        ] {
            assert!(!is_valid_email(invalid), "{invalid:?}");
        }
        let tld = |n: usize| format!("example@atm.{}", "a".repeat(n));
        assert!(is_valid_email(&tld(63)) && !is_valid_email(&tld(64)));
        let long = format!("{}@example.com", "a".repeat(309));
        assert!(!is_valid_email(&long), "321 characters");
        assert!(is_valid_email(&long[1..]), "320 characters");
    }
}
