// Message catalogs (English and Japanese) and error-code translations.
// Every key must exist in both catalogs: ui/tests/i18n.test.js checks it.

export const catalogs = {
  en: {
    "app.loading": "Looking for the Apex One / OfficeScan server…",
    "lang.switch": "日本語",
    "demo.badge": "DEMO",
    "demo.banner": "No Apex One / OfficeScan server was found on this computer, so certmend opened its demo server. Everything shown is generated demo data.",
    "server.incomplete": "This install folder is incomplete: {missing} missing.",
    "server.heading": "Server",
    "server.installFolder": "Install folder",
    "server.product": "Product",
    "server.location": "Location",
    "server.foundBy": "Found by",
    "product.office_scan": "OfficeScan",
    "product.apex_one": "Apex One",
    "product.unknown": "Unknown product",
    "location.windows32bit": "Default on 32-bit Windows",
    "location.windows64bit": "Default on 64-bit Windows",
    "location.custom": "Custom location",
    "foundBy.registry": "Registry (Local_Path)",
    "foundBy.program_files": "Program Files",
    "foundBy.root": "Drive folder",
    "foundBy.folder": "Chosen folder",
    "foundBy.demo": "Demo server (no real server found)",
    "cert.heading": "Server certificate (OfcNTCer.dat)",
    "cert.subject": "Subject",
    "cert.issuer": "Issuer",
    "cert.serial": "Serial number",
    "cert.thumbprint": "Thumbprint (SHA-1)",
    "cert.sha256": "SHA-256",
    "cert.validFrom": "Valid from",
    "cert.validTo": "Valid to",
    "cert.daysLeft": "{days} days left",
    "cert.expiredAgo": "Expired {days} days ago",
    "cert.key": "Public key",
    "cert.keyValue": "{algorithm} {bits} bits",
    "cert.signature": "Signature",
    "cert.signatureValid": "Valid (checked with its own key)",
    "cert.signatureInvalid": "Invalid",
    "cert.signatureUnchecked": "Not checked",
    "cert.selfSigned": "Self-signed",
    "cert.expiryBanner": "The server certificate expires in {days} days. Plan the renewal and keep a backup of the key pair.",
    "cert.expiredBanner": "The server certificate expired {days} days ago.",
    "copy": "Copy",
    "copied": "Copied",
    "yes": "Yes",
    "no": "No",
    "files.heading": "Files of the install folder",
    "files.name": "File",
    "files.state": "State",
    "files.size": "Size",
    "files.path": "Path",
    "files.present": "Present",
    "files.missing": "Missing",
    "files.unreadable": "Unreadable",
    "error.generic": "Something went wrong: {message}",
    "error.server.certificate_missing": "OfcNTCer.dat not found in PCCSRV\\Pccnt\\Common. Choose the install folder again.",
    "error.cert.truncated": "The server certificate file is truncated (cut short). Restore it from a backup.",
    "error.cert.malformed": "The server certificate file is not a certificate.",
    "error.cert.empty": "The server certificate file is empty.",
    "error.app.no_data_dir": "Windows gives no application-data folder for this user, so the demo server cannot be created.",
  },
  ja: {
    "app.loading": "Apex One / ウイルスバスター Corp. サーバーを探しています…",
    "lang.switch": "English",
    "demo.badge": "デモ",
    "demo.banner": "このコンピューターに Apex One / ウイルスバスター Corp. サーバーが見つからないため、デモサーバーを開きました。表示されているのはすべて生成されたデモデータです。",
    "server.incomplete": "このインストールフォルダは不完全です: {missing} がありません。",
    "server.heading": "サーバー",
    "server.installFolder": "インストールフォルダ",
    "server.product": "製品",
    "server.location": "場所",
    "server.foundBy": "検出方法",
    "product.office_scan": "ウイルスバスター Corp. (OfficeScan)",
    "product.apex_one": "Apex One",
    "product.unknown": "不明な製品",
    "location.windows32bit": "32 ビット Windows の既定の場所",
    "location.windows64bit": "64 ビット Windows の既定の場所",
    "location.custom": "既定以外の場所",
    "foundBy.registry": "レジストリ (Local_Path)",
    "foundBy.program_files": "Program Files",
    "foundBy.root": "ドライブのフォルダ",
    "foundBy.folder": "選択したフォルダ",
    "foundBy.demo": "デモサーバー (実サーバーが見つかりません)",
    "cert.heading": "サーバー証明書 (OfcNTCer.dat)",
    "cert.subject": "サブジェクト",
    "cert.issuer": "発行者",
    "cert.serial": "シリアル番号",
    "cert.thumbprint": "拇印 (SHA-1)",
    "cert.sha256": "SHA-256",
    "cert.validFrom": "有効期間の開始",
    "cert.validTo": "有効期間の終了",
    "cert.daysLeft": "残り {days} 日",
    "cert.expiredAgo": "{days} 日前に期限切れ",
    "cert.key": "公開キー",
    "cert.keyValue": "{algorithm} {bits} ビット",
    "cert.signature": "署名",
    "cert.signatureValid": "有効 (自身の公開キーで検証済み)",
    "cert.signatureInvalid": "無効",
    "cert.signatureUnchecked": "未検証",
    "cert.selfSigned": "自己署名",
    "cert.expiryBanner": "サーバー証明書の有効期限まで残り {days} 日です。更新を計画し、キーペアのバックアップを確保してください。",
    "cert.expiredBanner": "サーバー証明書は {days} 日前に期限切れになりました。",
    "copy": "コピー",
    "copied": "コピーしました",
    "yes": "はい",
    "no": "いいえ",
    "files.heading": "インストールフォルダのファイル",
    "files.name": "ファイル",
    "files.state": "状態",
    "files.size": "サイズ",
    "files.path": "パス",
    "files.present": "あり",
    "files.missing": "なし",
    "files.unreadable": "読み取り不可",
    "error.generic": "エラーが発生しました: {message}",
    "error.server.certificate_missing": "OfcNTCer.dat が見つかりません (PCCSRV\\Pccnt\\Common)。インストールフォルダを選び直してください。",
    "error.cert.truncated": "サーバー証明書ファイルが途中で切れています。バックアップから復元してください。",
    "error.cert.malformed": "サーバー証明書ファイルは証明書ではありません。",
    "error.cert.empty": "サーバー証明書ファイルが空です。",
    "error.app.no_data_dir": "このユーザーのアプリケーションデータフォルダがないため、デモサーバーを作成できません。",
  },
};

export const LANGUAGES = Object.keys(catalogs);

/** "ja" for a Japanese OS/browser locale, else "en". */
export function detectLanguage(locales) {
  const list = Array.isArray(locales) ? locales : [];
  return list.some((l) => typeof l === "string" && l.toLowerCase().startsWith("ja")) ? "ja" : "en";
}

/** The message for `key` in `lang`, with {name} placeholders filled from `params`. */
export function translate(lang, key, params = {}) {
  const catalog = catalogs[lang] ?? catalogs.en;
  const template = catalog[key] ?? catalogs.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** A translated message for a `{code, message}` error from the core. */
export function translateError(lang, error) {
  const key = `error.${error?.code}`;
  if (key in (catalogs[lang] ?? {})) return translate(lang, key);
  return translate(lang, "error.generic", { message: error?.message ?? String(error) });
}
