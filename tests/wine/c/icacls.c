/* A stand-in for icacls.exe, for tests only: Wine 8's icacls is a stub that prints
 * nothing, changes nothing and returns 0, and Wine enforces no access lists anyway, so
 * what a test can check is that repair.cmd asks for the right thing. It appends its
 * arguments to %FAKE_ICACLS_LOG% (UTF-8, one line per call, each argument in
 * [brackets]) and then acts per %FAKE_ICACLS_MODE%:
 *   ok (default)  exit 0
 *   fail          exit 5 (as for "Access is denied"), change nothing
 *   plant         create planted.dll in the folder named by the first argument, then
 *                 exit 0: a user who dropped a file into the new folder before its
 *                 inherited access list was removed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

int wmain(int argc, wchar_t **argv) {
    const wchar_t *log = _wgetenv(L"FAKE_ICACLS_LOG");
    const wchar_t *mode = _wgetenv(L"FAKE_ICACLS_MODE");
    if (log) {
        FILE *f = _wfopen(log, L"ab");
        if (f) {
            char buf[4096];
            fputs("icacls", f);
            for (int i = 1; i < argc; i++) {
                WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, buf, sizeof buf, NULL, NULL);
                fprintf(f, " [%s]", buf);
            }
            fputs("\n", f);
            fclose(f);
        }
    }
    if (mode && wcscmp(mode, L"fail") == 0) {
        fwprintf(stderr, L"%ls: Access is denied.\r\nSuccessfully processed 0 files; Failed processing 1 files\r\n",
                 argc > 1 ? argv[1] : L"?");
        return 5;
    }
    if (mode && wcscmp(mode, L"plant") == 0 && argc > 1) {
        wchar_t path[MAX_PATH];
        _snwprintf(path, MAX_PATH, L"%ls\\planted.dll", argv[1]);
        path[MAX_PATH - 1] = 0;
        HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_NEW, 0, NULL);
        if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
    }
    wprintf(L"processed file: %ls\r\nSuccessfully processed 1 files; Failed processing 0 files\r\n",
            argc > 1 ? argv[1] : L"?");
    return 0;
}
