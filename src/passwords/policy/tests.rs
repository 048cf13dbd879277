use super::python::{is_digits, quick_ratio, split_non_word, strip};
use super::*;

fn user<'a>(
    username: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    email: &'a str,
) -> UserAttributes<'a> {
    UserAttributes {
        username,
        first_name,
        last_name,
        email,
    }
}

fn errors(policy: &PasswordPolicy, password: &str, user: &UserAttributes<'_>) -> Vec<String> {
    policy.validate(password, user).err().unwrap_or_default()
}

const SHORT: &str = "This password is too short. It must contain at least 8 characters.";
const TOO_COMMON: &str = "This password is too common.";
const NUMERIC: &str = "This password is entirely numeric.";

#[test]
fn django_defaults_report_every_refusal_in_order() {
    let policy = PasswordPolicy::default();
    assert_eq!(policy.validators(), Validator::DJANGO_DEFAULT);
    assert_eq!(policy.min_length(), 8);
    let none = UserAttributes::default();
    assert_eq!(policy.validate("bench-password-1", &none), Ok(()));
    assert_eq!(errors(&policy, "1234", &none), [SHORT, TOO_COMMON, NUMERIC]);
    assert_eq!(errors(&policy, "12345678", &none), [TOO_COMMON, NUMERIC]);
    assert_eq!(errors(&policy, "password", &none), [TOO_COMMON]);
    assert_eq!(errors(&policy, "38475629104", &none), [NUMERIC]);
    assert_eq!(errors(&policy, "zq7", &none), [SHORT]);
    let alice = user("alice", "", "", "");
    assert_eq!(
        errors(&policy, "alice", &alice),
        ["The password is too similar to the username.", SHORT, TOO_COMMON]
    );
}

#[test]
fn the_order_and_the_length_are_the_policys() {
    let policy = PasswordPolicy::from_names(&["numeric", "common", "min_length"], 12).unwrap();
    let none = UserAttributes::default();
    assert_eq!(
        errors(&policy, "123456", &none),
        [
            NUMERIC,
            TOO_COMMON,
            "This password is too short. It must contain at least 12 characters."
        ]
    );
    let one = PasswordPolicy::new(vec![Validator::MinLength], 1);
    assert_eq!(
        errors(&one, "", &none),
        ["This password is too short. It must contain at least 1 character."]
    );
    assert_eq!(one.validate("x", &none), Ok(()));
    let off = PasswordPolicy::from_names::<&str>(&[], 8).unwrap();
    assert_eq!(off.validate("1", &none), Ok(()));
    // Lengths are characters, not bytes.
    let policy = PasswordPolicy::new(vec![Validator::MinLength], 8);
    assert!(policy.validate("ééééééé", &none).is_err());
    assert!(policy.validate("éééééééé", &none).is_ok());
}

#[test]
fn similarity_names_the_attribute_as_django_does() {
    let policy = PasswordPolicy::new(vec![Validator::Similarity], 8);
    let u = user("jdoe", "Jean-Pierre", "Dupont", "jp.dupont@example.com");
    let similar = |password: &str| errors(&policy, password, &u);
    assert_eq!(similar("JDOE"), ["The password is too similar to the username."]);
    assert_eq!(
        similar("pierre"),
        ["The password is too similar to the first name."]
    );
    assert_eq!(
        similar("dupont1"),
        ["The password is too similar to the last name."]
    );
    // The e-mail address is split at non-word characters: any part counts.
    assert_eq!(
        similar("example!"),
        ["The password is too similar to the email address."]
    );
    assert_eq!(
        similar("jp.dupont@example.com"),
        ["The password is too similar to the email address."]
    );
    assert_eq!(similar("horse-battery-staple"), Vec::<String>::new());
    // Only the first attribute matched is named.
    let same = user("dupont", "", "dupont", "dupont@x.io");
    assert_eq!(errors(&policy, "dupont", &same).len(), 1);
}

#[test]
fn similarity_skips_values_too_short_to_matter() {
    let policy = PasswordPolicy::new(vec![Validator::Similarity], 8);
    // 20 characters against 1: the length ratio skips the comparison (quick_ratio would
    // say 2/21 anyway); "aa" against "a" is compared and stays under 0.7 (2/3).
    assert!(
        policy
            .validate("xxxxxxxxxxxxxxxxxxxa", &user("a", "", "", ""))
            .is_ok()
    );
    assert!(policy.validate("aa", &user("a", "", "", "")).is_ok());
    assert!(policy.validate("A", &user("a", "", "", "")).is_err());
    // Django's corner: an empty password against a value ending in a separator meets the
    // empty part and is "too similar" (1.0 for two empty sequences).
    assert_eq!(
        errors(&policy, "", &user("a@", "", "", "")),
        ["The password is too similar to the username."]
    );
    assert!(policy.validate("", &user("a", "", "", "")).is_ok());
    // Empty attributes are not compared at all.
    assert!(policy.validate("", &UserAttributes::default()).is_ok());
}

#[test]
fn common_compares_the_lower_cased_stripped_password() {
    let policy = PasswordPolicy::new(vec![Validator::Common], 8);
    let none = UserAttributes::default();
    for common in [
        "password",
        "PassWord",
        " password\t",
        "\u{1c}password\u{3000}",
        "ПАРОЛЬ",
    ] {
        assert_eq!(errors(&policy, common, &none), [TOO_COMMON], "{common:?}");
    }
    assert!(policy.validate("pass word", &none).is_ok());
    assert!(policy.validate("", &none).is_ok());
}

#[test]
fn numeric_is_pythons_isdigit() {
    let policy = PasswordPolicy::new(vec![Validator::Numeric], 8);
    let none = UserAttributes::default();
    for numeric in ["0", "48151623", "²³¹", "①②③", "١٢٣", "𝟏𝟐"] {
        assert_eq!(errors(&policy, numeric, &none), [NUMERIC], "{numeric:?}");
    }
    for not in ["", "1 2", "½", "Ⅻ", "12a", "-1"] {
        assert!(policy.validate(not, &none).is_ok(), "{not:?}");
    }
}

#[test]
fn the_common_list_is_djangos() {
    let lines: Vec<&str> = COMMON_PASSWORDS.lines().collect();
    assert_eq!(lines.len(), 19_640);
    assert_eq!(COMMON.len(), 19_640, "distinct entries");
    for line in lines {
        assert!(
            !line.is_empty() && line == strip(line) && line == line.to_lowercase(),
            "{line:?}"
        );
    }
}

#[test]
fn python_text_helpers() {
    assert_eq!(
        split_non_word("jp.dupont@example.com"),
        ["jp", "dupont", "example", "com"]
    );
    assert_eq!(split_non_word("a@@b"), ["a", "b"]);
    assert_eq!(split_non_word("@a"), ["", "a"]);
    assert_eq!(split_non_word("a@"), ["a", ""]);
    assert_eq!(split_non_word("@@"), ["", ""]);
    assert_eq!(split_non_word(""), [""]);
    assert_eq!(split_non_word("o'brien_x"), ["o", "brien_x"]);
    // Combining marks are not word characters in Python's `re`.
    assert_eq!(split_non_word("सुरेश"), ["स", "र", "श"]);
    assert_eq!(strip("\u{1f} a \u{85}"), "a");
    assert!(is_digits("٣²") && !is_digits("") && !is_digits("½"));
    let chars = |s: &str| s.chars().collect::<Vec<_>>();
    assert_eq!(quick_ratio(&chars(""), &chars("")), 1.0);
    assert_eq!(quick_ratio(&chars("abcd"), &chars("bcde")), 0.75);
    assert_eq!(quick_ratio(&chars("aab"), &chars("ab")), 0.8);
}

#[test]
fn validator_names() {
    assert_eq!(
        parse_validators(&["similarity", "min_length", "common", "numeric"]).unwrap(),
        Validator::DJANGO_DEFAULT
    );
    assert_eq!(
        parse_validators(&[
            "UserAttributeSimilarityValidator",
            "django.contrib.auth.password_validation.MinimumLengthValidator",
            "CommonPasswordValidator",
            "NumericPasswordValidator",
        ])
        .unwrap(),
        Validator::DJANGO_DEFAULT
    );
    let e = parse_validators(&["common", "numerc"]).unwrap_err();
    assert_eq!(e, UnknownValidator("numerc".into()));
    assert_eq!(
        e.to_string(),
        "\"numerc\" is not one of similarity, min_length, common, numeric (or Django's class \
         names of them); did you mean \"numeric\"?"
    );
    let e = parse_validators(&["django.contrib.auth.password_validation.MinimumLenghtValidator"]);
    assert!(
        e.unwrap_err()
            .to_string()
            .ends_with("did you mean \"MinimumLengthValidator\"?")
    );
    assert!(
        !UnknownValidator("entropy".into())
            .to_string()
            .contains("did you mean")
    );
    assert!(Validator::from_name("other.module.MinimumLengthValidator").is_none());
    assert!(
        Validator::from_name("Numeric").is_none(),
        "names are case-sensitive"
    );
}

/// Django 5.2's own verdicts (tests/fixtures/password_validation.py made them with
/// `validate_password`): the same messages, in the same order, for every case.
#[test]
fn the_same_verdicts_as_django() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/fixtures/password_validation.json")).unwrap();
    assert_eq!(fixture["django"], "5.2");
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() > 500);
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    for case in cases {
        let password = case[0].as_str().unwrap();
        let attributes = strings(&case[1]);
        let expected = strings(&case[2]);
        let policy = match case.get(3) {
            Some(names) => {
                PasswordPolicy::from_names(&strings(names), case[4].as_u64().unwrap() as usize).unwrap()
            }
            None => PasswordPolicy::default(),
        };
        let u = user(&attributes[0], &attributes[1], &attributes[2], &attributes[3]);
        assert_eq!(errors(&policy, password, &u), expected, "{case}");
    }
}
