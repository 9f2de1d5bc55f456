//! `README.txt` of a bundle: what to do, in Japanese and English.

use super::{ExportOptions, ManifestServer};
use crate::script::Password;
use crate::store::BundleAgent;

/// README.txt: what to do, in Japanese and English; UTF-8 with a BOM so Notepad shows it.
pub(super) fn readme(
    agent: &BundleAgent,
    server: &ManifestServer,
    options: &ExportOptions,
) -> Vec<u8> {
    let embedded = matches!(options.password, Password::Embedded(_));
    let mut t = String::from("\u{FEFF}");
    let mut line = |s: &str| {
        t.push_str(s);
        t.push_str("\r\n");
    };
    line("certmend repair bundle / certmend 修復バンドル");
    line("=============================================");
    line(&format!("Agent / エージェント: {}", agent.name));
    line(&format!(
        "Server certificate / サーバー証明書: {} (SHA-1 {})",
        server.certificate_subject, server.certificate_sha1_thumbprint
    ));
    line("");
    line("[English]");
    line("1. On this agent computer, right-click repair.cmd and choose \"Run as administrator\".");
    line("2. If asked, type the agent unload password (press Enter if there is none).");
    line("3. The script puts the server certificate on the agent with Trend Micro's IpXfer,");
    line(
        "   checks the result itself, and writes a receipt into the receipts folder of this stick.",
    );
    line("4. If it reports a failure, reinstall the agent on this computer.");
    line("5. Bring the stick back and read the receipts with certmend.");
    line("To only check this agent without changing anything: repair.cmd /check");
    line("Not repaired here: the agent's second certificate, \"OfficeScan SSL Agent\"");
    line("(ofcsslagent), derived from the server's and refreshed separately (Trend KB 000155981).");
    if embedded {
        line("WARNING: repair.cmd contains the agent unload password in plain text.");
        line("Keep this stick safe and delete the bundles when the repair is done.");
    }
    line("This stick can be written to by every PC it visits. repair.cmd checks IpXfer and");
    line("OfcNTCer.dat against the SHA-256 written into it, copies them into a new folder only");
    line("administrators can write and runs IpXfer from there; if anything differs it runs");
    line("nothing (BUNDLE_TAMPERED). On another computer than this bundle's agent it changes");
    line("nothing (WRONG_COMPUTER). repair.cmd itself can be changed as well: check the stick");
    line("with certmend (Verify bundles, or certmend bundle verify) before each round, and if");
    line("anything is reported, do not run the bundles: export again to an emptied stick.");
    line("");
    line("[日本語]");
    line("1. このエージェントのコンピューターで repair.cmd を右クリックし「管理者として実行」を選びます。");
    line("2. 求められたらエージェントのアンロードパスワードを入力します (ない場合は Enter)。");
    line("3. スクリプトは Trend Micro の IpXfer でサーバー証明書をエージェントに配置し、結果を自分で確認して、");
    line("   このメモリの receipts フォルダに受領記録を書き込みます。");
    line(
        "4. 失敗と表示された場合は、このコンピューターのエージェントを再インストールしてください。",
    );
    line("5. メモリを持ち帰り、certmend で受領記録を読み込みます。");
    line("変更せずに確認だけする場合: repair.cmd /check");
    line("ここでは修復しないもの: エージェントの2つ目の証明書「OfficeScan SSL Agent」(ofcsslagent)。");
    line("サーバーの証明書から作られ、別に更新されます (Trend KB 000155981)。");
    if embedded {
        line("警告: repair.cmd にはエージェントのアンロードパスワードが平文で含まれています。");
        line("このメモリを安全に保管し、修復が終わったらバンドルを削除してください。");
    }
    line("このメモリは、差し込んだすべての PC から書き込めます。repair.cmd は IpXfer と OfcNTCer.dat を");
    line("自身に書き込まれた SHA-256 と照合し、管理者だけが書き込める新しいフォルダにコピーして、そこから");
    line("IpXfer を実行します。違いがあれば何も実行しません (BUNDLE_TAMPERED)。このバンドルのエージェント");
    line("以外のコンピューターでは何も変更しません (WRONG_COMPUTER)。repair.cmd 自体も書き換えられ得るため、");
    line("作業の前ごとに certmend でメモリを確認してください (バンドルを検証、または certmend bundle verify)。");
    line("何か報告されたら、そのバンドルは実行せず、空にしたメモリにもう一度出力してください。");
    t.into_bytes()
}
