"""The text of a security-code message, in English and Japanese.

It carries the code and nothing else secret: no username, no link. SMS messages end
with the origin-bound line `@host #code` (WebOTP), so a phone's browser offers the code
only on mamori's own site.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from mamori.core.i18n import LOCALES

PURPOSES: dict[str, dict[str, str]] = {
    "login": {"en": "to log in", "ja": "ログイン"},
    "enroll_sms": {"en": "to confirm this phone number", "ja": "電話番号の確認"},
    "enroll_email": {"en": "to confirm this e-mail address", "ja": "メールアドレスの確認"},
    "recovery": {"en": "to get back into your account", "ja": "アカウントの復旧"},
}
ANY_PURPOSE = {"en": "", "ja": ""}


@dataclass(frozen=True)
class CodeMessage:
    subject: str
    body: str


def message_locale(locale: str) -> str:
    language = locale.replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else "en"


def sms_text(*, code: str, purpose: str, minutes: int, locale: str, base_url: str) -> str:
    what = PURPOSES.get(purpose, ANY_PURPOSE)
    host = urlsplit(base_url).hostname or "localhost"
    if message_locale(locale) == "ja":
        use = f"{what['ja']}用" if what["ja"] else ""
        text = (
            f"mamoriの{use}セキュリティコード: {code}\n"
            f"{minutes}分間有効です。このコードは誰にも教えないでください。"
        )
    else:
        use = f" {what['en']}" if what["en"] else ""
        text = (
            f"{code} is your mamori security code{use}. "
            f"It expires in {minutes} minutes. Don't share it with anyone."
        )
    return f"{text}\n\n@{host} #{code}"


def email_text(*, code: str, purpose: str, minutes: int, locale: str) -> CodeMessage:
    what = PURPOSES.get(purpose, ANY_PURPOSE)
    if message_locale(locale) == "ja":
        use = f"{what['ja']}用" if what["ja"] else ""
        return CodeMessage(
            subject="mamoriのセキュリティコード",
            body=(
                f"mamoriの{use}セキュリティコードは次のとおりです。\n\n"
                f"    {code}\n\n"
                f"有効期限は{minutes}分で、一度だけ使えます。\n"
                "mamoriがこのコードを電話やメールで尋ねることはありません。"
                "誰にも教えないでください。\n"
                "心当たりがない場合は、このメールを無視してください。"
                "アカウントはそのまま保護されています。"
            ),
        )
    use = f" {what['en']}" if what["en"] else ""
    return CodeMessage(
        subject="Your mamori security code",
        body=(
            f"Your mamori security code{use} is:\n\n"
            f"    {code}\n\n"
            f"It expires in {minutes} minutes and works once.\n"
            "mamori will never ask you for this code by phone or e-mail. "
            "Don't share it with anyone.\n"
            "If you didn't ask for it, you can ignore this e-mail; your account stays safe."
        ),
    )
