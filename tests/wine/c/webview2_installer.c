/* A stand-in for Microsoft's WebView2 offline installer
 * (MicrosoftEdgeWebView2RuntimeInstallerX64.exe), for tests only. The MSI runs it from a
 * deferred custom action (as LocalSystem, in msiexec's own process tree, so the test's
 * environment does not reach it): it appends one UTF-8 line to C:\webview2-installer.log
 * — its own path, then its arguments in [brackets] — and registers a runtime the way the
 * real one does, the value pv under EdgeUpdate\Clients\{F3017226-...} in the 32-bit
 * registry view, which the MSI reads to decide whether the installer is needed. */
#include <stdio.h>
#include <wchar.h>
#include <windows.h>

int wmain(int argc, wchar_t **argv) {
    FILE *f = _wfopen(L"C:\\webview2-installer.log", L"ab");
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
    HKEY key;
    LONG rc = RegCreateKeyExW(
        HKEY_LOCAL_MACHINE,
        L"SOFTWARE\\Microsoft\\EdgeUpdate\\Clients\\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}",
        0, NULL, 0, KEY_WRITE | KEY_WOW64_32KEY, NULL, &key, NULL);
    if (rc != ERROR_SUCCESS) return 2;
    const wchar_t *version = L"131.0.2903.99";
    rc = RegSetValueExW(key, L"pv", 0, REG_SZ, (const BYTE *)version,
                        (DWORD)((wcslen(version) + 1) * sizeof(wchar_t)));
    RegCloseKey(key);
    return rc == ERROR_SUCCESS ? 0 : 3;
}
