/* A stand-in for the server's CertificateManager.exe, for tests only. It appends, in
 * UTF-8, its working directory to %FAKE_CM_CWD_LOG% and its arguments (each in
 * [brackets]) to %FAKE_CM_ARGS_LOG%, then acts per %FAKE_CM_MODE%:
 *   ok (default)  `-l <file>`: writes a list of mismatched agents to <file> the way a
 *                 Japanese server might (UTF-16LE with BOM, tab-separated, Japanese
 *                 header), prints a short note, exits 0
 *   fail          writes no list, prints Japanese messages in CP932 (the console code
 *                 page of a Japanese server) on stdout and stderr, exits 5
 *   none          writes no list, prints a short note, exits 0 (what the real tool does
 *                 when no agent is mismatched is undocumented; this is one possibility)
 *   title         `-l <file>`: as ok, but the list starts with a title line
 *                 "Agents with invalid certificate 2026/12/04" and a blank line before
 *                 the header row (a preamble some tools write; no public sample exists)
 * The Japanese bytes are spelled out, so the output does not depend on this program's
 * locale: stdout 「証明書の一覧を作成できませんでした。」, stderr 「管理者として実行してください。」. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>
#include <fcntl.h>
#include <io.h>

static void log_utf8(const wchar_t *env, const wchar_t *text) {
    const wchar_t *path = _wgetenv(env);
    if (!path) return;
    FILE *f = _wfopen(path, L"ab");
    if (!f) return;
    char buf[8192];
    WideCharToMultiByte(CP_UTF8, 0, text, -1, buf, sizeof buf, NULL, NULL);
    fputs(buf, f);
    fclose(f);
}

/* The list a Japanese server might write: UTF-16LE, BOM, tabs, CRLF. */
static const wchar_t LIST[] =
    L"\uFEFF"
    L"コンピュータ名\tIPアドレス\tドメイン\tGUID\r\n"
    L"CM-PC-001\t10.30.0.1\t営業部\t6f1c2a9e-0001-4c1d-9a55-000000000001\r\n"
    L"経理-ＰＣ０２\t10.30.0.2\t経理部\t6f1c2a9e-0002-4c1d-9a55-000000000002\r\n"
    L"CM-PC-003\t10.30.0.3\tWorkgroup\t6f1c2a9e-0003-4c1d-9a55-000000000003\r\n";

/* The same agents under a title and a blank line: the title holds no tab, so the
 * delimiter can only come from the header row. */
static const wchar_t TITLED_LIST[] =
    L"\uFEFF"
    L"Agents with invalid certificate 2026/12/04\r\n"
    L"\r\n"
    L"コンピュータ名\tIPアドレス\tドメイン\tGUID\r\n"
    L"CM-PC-101\t10.31.0.1\t営業部\t6f1c2a9e-0101-4c1d-9a55-000000000101\r\n"
    L"CM-PC-102\t10.31.0.2\tWorkgroup\t6f1c2a9e-0102-4c1d-9a55-000000000102\r\n";

int wmain(int argc, wchar_t **argv) {
    wchar_t cwd[MAX_PATH];
    if (GetCurrentDirectoryW(MAX_PATH, cwd)) {
        log_utf8(L"FAKE_CM_CWD_LOG", cwd);
        log_utf8(L"FAKE_CM_CWD_LOG", L"\n");
    }
    for (int i = 1; i < argc; i++) {
        log_utf8(L"FAKE_CM_ARGS_LOG", L"[");
        log_utf8(L"FAKE_CM_ARGS_LOG", argv[i]);
        log_utf8(L"FAKE_CM_ARGS_LOG", L"]");
    }
    log_utf8(L"FAKE_CM_ARGS_LOG", L"\n");

    const wchar_t *mode = _wgetenv(L"FAKE_CM_MODE");
    if (mode && wcscmp(mode, L"fail") == 0) {
        /* Bytes as they are: no CRLF translation of the text-mode CRT. */
        _setmode(_fileno(stdout), _O_BINARY);
        _setmode(_fileno(stderr), _O_BINARY);
        /* 証明書の一覧を作成できませんでした。 in CP932 */
        static const unsigned char out[] = {
            0x8f, 0xd8, 0x96, 0xbe, 0x8f, 0x91, 0x82, 0xcc, 0x88, 0xea, 0x97, 0x97,
            0x82, 0xf0, 0x8d, 0xec, 0x90, 0xac, 0x82, 0xc5, 0x82, 0xab, 0x82, 0xdc,
            0x82, 0xb9, 0x82, 0xf1, 0x82, 0xc5, 0x82, 0xb5, 0x82, 0xbd, 0x81, 0x42,
            '\r', '\n'};
        /* 管理者として実行してください。 in CP932 */
        static const unsigned char err[] = {
            0x8a, 0xc7, 0x97, 0x9d, 0x8e, 0xd2, 0x82, 0xc6, 0x82, 0xb5, 0x82, 0xc4,
            0x8e, 0xc0, 0x8d, 0x73, 0x82, 0xb5, 0x82, 0xc4, 0x82, 0xad, 0x82, 0xbe,
            0x82, 0xb3, 0x82, 0xa2, 0x81, 0x42, '\r', '\n'};
        fwrite(out, 1, sizeof out, stdout);
        fflush(stdout);
        fwrite(err, 1, sizeof err, stderr);
        fflush(stderr);
        return 5;
    }

    if (mode && wcscmp(mode, L"none") == 0) {
        puts("No list written.");
        return 0;
    }

    const wchar_t *list = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (_wcsicmp(argv[i], L"-l") == 0) list = argv[i + 1];
    if (!list) {
        fputs("usage: CertificateManager -l <csv>\r\n", stderr);
        return 87;
    }
    FILE *f = _wfopen(list, L"wb");
    if (!f) {
        fprintf(stderr, "cannot write the list (%lu)\r\n", GetLastError());
        return 3;
    }
    const wchar_t *text = mode && wcscmp(mode, L"title") == 0 ? TITLED_LIST : LIST;
    fwrite(text, sizeof(wchar_t), wcslen(text), f);
    fclose(f);
    puts("Done.");
    return 0;
}
