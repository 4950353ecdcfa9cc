"""The two people every journey of issue 12 is walked by: a 390×844 phone in Japanese in
Tokyo and a 1280×800 PC in English in London, with what each of them reads on the pages.

The Japanese is written out here rather than read from the catalogs, so a journey fails
when a page stops saying what a Japanese reader is shown today."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, ViewportSize

PHONE_390: ViewportSize = {"width": 390, "height": 844}
PC_1280: ViewportSize = {"width": 1280, "height": 800}

# English as the pages say it → the Japanese page's words. `{name}` is filled in by say().
JAPANESE = {
    "Create an account": "アカウントを作成",
    "Username": "ユーザーネーム",
    "Password": "パスワード",
    "E-mail (optional)": "メールアドレス（任意）",
    "Sign up": "登録する",
    "That password is one of the most common; choose another": (
        "このパスワードはよく使われているため安全ではありません。別のパスワードを選んでください"
    ),
    "Confirm your e-mail address": "メールアドレスを確認する",
    "We e-mailed a 6-digit code to {address}.": "{address}にメールで6桁のコードを送信しました。",
    "Security code": "セキュリティコード",
    "Confirm": "確認",
    "Later": "あとで",
    "Your e-mail address is confirmed.": "メールアドレスが確認されました。",
    "Accounts Center": "アカウントセンター",
    "Logged in as {username}": "{username}としてログイン中",
    "Password and security": "パスワードとセキュリティ",
    "Where you're logged in": "ログインしている場所",
    "Logged in {when}": "ログイン日時：{when}",
    "Log out": "ログアウト",
    "Log in": "ログイン",
    "Username, e-mail or phone number": "ユーザーネーム、メールアドレス、電話番号",
    "The login or password isn't right": "ログイン情報またはパスワードが正しくありません",
    "Two-factor authentication": "二段階認証",
    "Two-factor authentication is off.": "二段階認証はオフです。",
    "Authentication app": "認証アプリ",
    "Set up an authentication app": "認証アプリを設定",
    "Enter the 6-digit code from the app": "アプリに表示される6桁のコードを入力",
    "Turn on": "オンにする",
    "Two-factor authentication is on": "二段階認証がオンになりました",
    "Done": "完了",
    "Default method": "デフォルトの方法",
    "Enter the 6-digit code from your authenticator app.": (
        "認証アプリに表示される6桁のコードを入力してください。"
    ),
    "That code isn't valid": "コードが正しくありません",
    "Try another way": "別の方法を試す",
    "Use a backup code": "バックアップコードを使用",
    "Use your authenticator app": "認証アプリを使用",
    "Backup code": "バックアップコード",
    "{count} backup codes left": "バックアップコードは残り{count}個です",
    "1 backup code left": "バックアップコードは残り1個です",
    "Continue": "続行",
    "Backup codes": "バックアップコード",
    "{remaining} of {total} codes left": "残り{remaining}個（全{total}個中）",
    "Used {date}": "使用済み（{date}）",
    "Get new codes": "新しいコードを取得",
    "Download (.txt)": "ダウンロード（.txt）",
    "Made on": "発行日",
    "Get new codes?": "新しいコードを取得しますか？",
    "Only {count} backup codes are left. Get new codes before they run out.": (
        "バックアップコードは残り{count}個です。なくなる前に新しいコードを取得してください。"
    ),
    "Only 1 backup code is left. Get new codes before it runs out.": (
        "バックアップコードは残り1個です。なくなる前に新しいコードを取得してください。"
    ),
    "You have used all your backup codes.": "バックアップコードをすべて使い切りました。",
    "Get a code by text message": "SMSでコードを受け取る",
    "We sent a code to": "にコードを送信しました。",  # after the number in Japanese
    "Send a new code": "新しいコードを送信",
    "Can't log in?": "ログインできない場合",
    "Send code": "コードを送信",
    "One more step": "あと1ステップ",
    "Instant. Two-factor authentication stays on.": "すぐに完了します。二段階認証はそのままです。",
    "Takes 72 hours, then turns off two-factor authentication.": (
        "完了まで72時間かかり、その後二段階認証がオフになります。"
    ),
    "Turns off two-factor authentication.": "二段階認証がオフになります。",
    "Enter your password": "パスワードを入力",
    "Choose a new password": "新しいパスワードを作成",
    "Every device logged in to your account will be logged out.": (
        "あなたのアカウントにログインしているすべてのデバイスがログアウトされます。"
    ),
    "waiting period": "待機期間",
    "New password": "新しいパスワード",
    "Set new password": "新しいパスワードを設定する",
    "Your password was changed": "パスワードが変更されました",
    "Your recovery is on its way": "アカウントの復旧を受け付けました",
    "Your new password takes effect on {when}.": "新しいパスワードは{when}に有効になります。",
    "Someone is recovering your account. On {when} it will set a new password and turn off"
    " two-factor authentication.": (
        "誰かがあなたのアカウントを復旧しようとしています。"
        "{when}に新しいパスワードが設定され、二段階認証がオフになります。"
    ),
    "Someone is recovering": "誰かがあなたのアカウントを復旧しようとしています",
    "This wasn't me — cancel": "心当たりがありません — キャンセルする",
    "Recovery cancelled": "復旧をキャンセルしました",
    "Review your security": "セキュリティを確認",
    "Set up two-factor authentication again": "二段階認証をもう一度設定",
    "Contact details": "連絡先",
    "English": "English",
    "日本語": "日本語",
}


@dataclass(frozen=True)
class Profile:
    """A person's browser: its screen, its language and its time zone."""

    name: str
    lang: str
    locale: str
    timezone_id: str
    viewport: ViewportSize
    mobile: bool

    def say(self, english: str, **values: object) -> str:
        """What the page says in this person's language."""
        text = english if self.lang == "en" else JAPANESE[english]
        return text.format(**values) if values else text

    @property
    def other_language(self) -> str:
        """The language switch's button: the language this page is not in."""
        return "English" if self.lang == "ja" else "日本語"

    def switched(self) -> Profile:
        """The same browser after the language switch was pressed."""
        return replace(self, lang="en" if self.lang == "ja" else "ja")

    def context_options(self) -> dict[str, Any]:
        return {
            "viewport": self.viewport,
            "locale": self.locale,
            "timezone_id": self.timezone_id,
            "is_mobile": self.mobile,
            "has_touch": self.mobile,
            "device_scale_factor": 2 if self.mobile else 1,
            "accept_downloads": True,
        }

    def time(self, moment: datetime) -> str:
        """`moment` as the pages write it for this person: their zone, named."""
        local = moment.astimezone(ZoneInfo(self.timezone_id))
        if self.lang == "ja":
            day = f"{local.year}年{local.month}月{local.day}日"
            return f"{day} {local.hour}:{local.minute:02d} (日本時間)"
        hour = f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
        return f"{local:%b} {local.day}, {local.year}, {hour} {local.tzname()}"

    def times(self, start: datetime, end: datetime) -> list[str]:
        """Every minute from `start` to `end` as the pages write it: one of them is shown."""
        first = start.replace(second=0, microsecond=0)
        minutes = int((end - first).total_seconds() // 60) + 1
        return [self.time(first + timedelta(minutes=n)) for n in range(minutes)]


PHONE_IN_TOKYO = Profile("phone-ja-tokyo", "ja", "ja-JP", "Asia/Tokyo", PHONE_390, True)
PC_IN_LONDON = Profile("pc-en-london", "en", "en-US", "Europe/London", PC_1280, False)
PROFILES = [PHONE_IN_TOKYO, PC_IN_LONDON]


def open_page(browser: Any, profile: Profile, **options: Any) -> Page:
    """A new browser (a context of its own: no cookies) as `profile`'s person holds it."""
    context = browser.new_context(**profile.context_options(), **options)
    context.set_default_timeout(15_000)
    page: Page = context.new_page()
    return page


def assert_fits_the_screen(page: Page) -> None:
    """Nothing scrolls sideways and every button is a comfortable tap target."""
    # After a click the next page may still be arriving: measure the page once it loaded.
    page.wait_for_load_state("load")
    scroll = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1], f"{page.url} scrolls sideways: {scroll[0]}px in {scroll[1]}px"
    for button in page.locator("main button:visible, main .button:visible").all():
        box = button.bounding_box()
        assert box is not None
        assert box["height"] >= 44, f"{button.inner_text()!r} is only {box['height']}px tall"


def shows_one_of(text: str, candidates: list[str]) -> bool:
    return any(candidate in text for candidate in candidates)
