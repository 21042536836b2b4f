//! What a rights request writes to the person, in their language: the acknowledgement, the
//! code, the answer, the link to their copy. Texts only; no value of theirs.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::rights::RightKind;

pub(super) fn ack_message(locale: &str, right: RightKind, due: Date) -> (&'static str, String) {
    let right = right.as_str();
    match locale {
        "kk" => (
            "Сұранысыңыз қабылданды",
            format!("Сіздің сұранысыңыз ({right}) қабылданды. Жауап {due} дейін беріледі."),
        ),
        "en" => (
            "We received your request",
            format!("We received your request ({right}) and will answer by {due}."),
        ),
        _ => (
            "Ваш запрос получен",
            format!("Мы получили ваш запрос ({right}) и ответим до {due}."),
        ),
    }
}

pub(super) fn answer_message(
    locale: &str,
    right: RightKind,
    outcome: &str,
) -> (&'static str, String) {
    let right = right.as_str();
    match locale {
        "kk" => (
            "Сұранысыңызға жауап",
            format!("Сіздің сұранысыңыз ({right}) қаралды: {outcome}."),
        ),
        "en" => (
            "The answer to your request",
            format!("Your request ({right}) was answered: {outcome}."),
        ),
        _ => (
            "Ответ на ваш запрос",
            format!("Ваш запрос ({right}) рассмотрен: {outcome}."),
        ),
    }
}

pub(super) fn download_message(
    locale: &str,
    link: &str,
    until: Timestamp,
) -> (&'static str, String) {
    match locale {
        "kk" => (
            "Деректеріңіздің көшірмесі дайын",
            format!(
                "Көшірмені мына сілтеме бойынша жүктеп алыңыз: {link} (сілтеме {until} дейін жарамды)."
            ),
        ),
        "en" => (
            "A copy of your data is ready",
            format!("Download it here: {link} (the link works until {until})."),
        ),
        _ => (
            "Копия ваших данных готова",
            format!("Скачайте её по ссылке: {link} (ссылка действует до {until})."),
        ),
    }
}

pub(super) fn code_message(locale: &str, code: &str) -> (&'static str, String) {
    match locale {
        "kk" => (
            "Сұранысты растау коды",
            format!("Дербес деректер бойынша сұранысты растау коды: {code}. Ол 30 минут жарамды."),
        ),
        "en" => (
            "Your confirmation code",
            format!(
                "The code to confirm your personal data request: {code}. It works for 30 minutes."
            ),
        ),
        _ => (
            "Код подтверждения запроса",
            format!(
                "Код для подтверждения запроса о персональных данных: {code}. Он действует 30 минут."
            ),
        ),
    }
}

pub(super) fn claim_message(locale: &str, code: &str) -> (&'static str, String) {
    match locale {
        "kk" => (
            "Тіркелуді растау коды",
            format!("Осы мекенжаймен тіркелуді растау коды: {code}. Ол 30 минут жарамды."),
        ),
        "en" => (
            "Confirm your registration",
            format!(
                "The code to confirm your registration with this address: {code}. It works for 30 minutes."
            ),
        ),
        _ => (
            "Код подтверждения регистрации",
            format!(
                "Код для подтверждения регистрации с этим адресом: {code}. Он действует 30 минут."
            ),
        ),
    }
}
