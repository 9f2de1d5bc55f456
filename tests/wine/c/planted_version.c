/* A hostile version.dll, for tests only: what an infected PC would drop beside the
 * IpXfer on a stick. version.dll is not one of Windows' KnownDLLs, so a program that
 * loads it by name gets the one in its own folder first (the DLL search order starts
 * with the application's folder). Loaded, it writes %FAKE_PLANTED_MARKER% (or
 * C:\planted-dll-loaded.txt) with the path of the program that loaded it. */
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
    (void)instance;
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) {
        const wchar_t *marker = _wgetenv(L"FAKE_PLANTED_MARKER");
        wchar_t exe[MAX_PATH] = L"?";
        GetModuleFileNameW(NULL, exe, MAX_PATH);
        FILE *f = _wfopen(marker ? marker : L"C:\\planted-dll-loaded.txt", L"ab");
        if (f) {
            char buf[4 * MAX_PATH];
            WideCharToMultiByte(CP_UTF8, 0, exe, -1, buf, sizeof buf, NULL, NULL);
            fprintf(f, "loaded by %s\n", buf);
            fclose(f);
        }
    }
    return TRUE;
}
