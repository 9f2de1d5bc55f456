/* A stand-in for powershell.exe, for tests only (Wine's is a stub that prints nothing).
 * certmend asks PowerShell for removable drives (Win32_LogicalDisk, DriveType=2); this
 * appends one UTF-8 line to %FAKE_PS_LOG%: its own path (which copy ran), then its
 * arguments, each in [brackets]; and prints the drive letters in %FAKE_PS_DRIVES%
 * (e.g. "E: F:") one per line, as PowerShell would. */
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>
#include <windows.h>

int wmain(int argc, wchar_t **argv) {
    const wchar_t *log = _wgetenv(L"FAKE_PS_LOG");
    if (log) {
        FILE *f = _wfopen(log, L"ab");
        if (f) {
            char buf[4096];
            wchar_t self[MAX_PATH];
            if (GetModuleFileNameW(NULL, self, MAX_PATH)) {
                WideCharToMultiByte(CP_UTF8, 0, self, -1, buf, sizeof buf, NULL, NULL);
                fputs(buf, f);
            }
            for (int i = 1; i < argc; i++) {
                WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, buf, sizeof buf, NULL, NULL);
                fprintf(f, "[%s]", buf);
            }
            fputs("\n", f);
            fclose(f);
        }
    }
    const wchar_t *drives = _wgetenv(L"FAKE_PS_DRIVES");
    if (drives) {
        for (const wchar_t *p = drives; *p; p++) {
            if (*p == L' ') wprintf(L"\n");
            else wprintf(L"%lc", *p);
        }
        wprintf(L"\n");
    }
    return 0;
}
