/* A stand-in for Trend Micro's IpXfer, for tests only. Built twice (IpXfer.exe and
 * IpXfer_x64.exe, told apart by IPXFER_NAME). It appends its name and arguments to
 * %FAKE_IPXFER_LOG%, then acts per %FAKE_IPXFER_MODE%:
 *   ok (default)  copy the -e certificate over %FAKE_AGENT_CERT%, exit 0
 *   fail          exit 7, change nothing
 *   nochange      exit 0, change nothing
 * With %FAKE_IPXFER_PASSWORD% set, a missing or different -pwd exits 5 (wrong
 * password) and changes nothing.
 * Like a real program it loads a DLL by name (version.dll, which is not one of Windows'
 * KnownDLLs: the copy in the program's own folder comes first), and it appends where it
 * ran to %FAKE_IPXFER_WHERE% (one line: exe=<its path> cwd=<current folder>). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#ifndef IPXFER_NAME
#define IPXFER_NAME L"IpXfer.exe"
#endif

int wmain(int argc, wchar_t **argv) {
    const wchar_t *cert = NULL, *pwd = NULL;
    const wchar_t *log = _wgetenv(L"FAKE_IPXFER_LOG");
    const wchar_t *mode = _wgetenv(L"FAKE_IPXFER_MODE");
    const wchar_t *expected = _wgetenv(L"FAKE_IPXFER_PASSWORD");
    const wchar_t *agent = _wgetenv(L"FAKE_AGENT_CERT");
    /* Loaded before anything else, as an import would be. */
    HMODULE version = LoadLibraryW(L"version.dll");
    (void)version;
    const wchar_t *where = _wgetenv(L"FAKE_IPXFER_WHERE");
    if (where) {
        FILE *f = _wfopen(where, L"ab");
        if (f) {
            wchar_t exe[MAX_PATH] = L"?", cwd[MAX_PATH] = L"?";
            char buf[4 * MAX_PATH];
            GetModuleFileNameW(NULL, exe, MAX_PATH);
            GetCurrentDirectoryW(MAX_PATH, cwd);
            WideCharToMultiByte(CP_UTF8, 0, exe, -1, buf, sizeof buf, NULL, NULL);
            fprintf(f, "exe=%s", buf);
            WideCharToMultiByte(CP_UTF8, 0, cwd, -1, buf, sizeof buf, NULL, NULL);
            fprintf(f, " cwd=%s\n", buf);
            fclose(f);
        }
    }
    for (int i = 1; i + 1 < argc; i++) {
        if (wcscmp(argv[i], L"-e") == 0) cert = argv[i + 1];
        if (wcscmp(argv[i], L"-pwd") == 0) pwd = argv[i + 1];
    }
    if (log) {
        FILE *f = _wfopen(log, L"ab");
        if (f) {
            /* UTF-8, one line: name, then each argument in [brackets]. */
            char buf[4096];
            WideCharToMultiByte(CP_UTF8, 0, IPXFER_NAME, -1, buf, sizeof buf, NULL, NULL);
            fputs(buf, f);
            for (int i = 1; i < argc; i++) {
                WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, buf, sizeof buf, NULL, NULL);
                fprintf(f, " [%s]", buf);
            }
            fputs("\n", f);
            fclose(f);
        }
    }
    if (expected && *expected && (!pwd || wcscmp(pwd, expected) != 0)) {
        fwprintf(stderr, L"IpXfer (fake): wrong password\n");
        return 5;
    }
    if (mode && wcscmp(mode, L"fail") == 0) return 7;
    if (mode && wcscmp(mode, L"nochange") == 0) return 0;
    if (!cert || !agent) {
        fwprintf(stderr, L"IpXfer (fake): need -e and FAKE_AGENT_CERT\n");
        return 9;
    }
    if (!CopyFileW(cert, agent, FALSE)) {
        fwprintf(stderr, L"IpXfer (fake): copy failed (%lu)\n", GetLastError());
        return 8;
    }
    return 0;
}
