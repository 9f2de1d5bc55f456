/* TEST-ONLY shim, never shipped: Wine 8 (Debian 12) has no bcryptprimitives.dll, whose
 * ProcessPrng Rust's std imports for randomness, so every Rust .exe stops at load with
 * "bcryptprimitives.dll not found". This DLL exports ProcessPrng and fills the buffer
 * from BCryptGenRandom, which Wine has. Windows 10+ has the real DLL. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    /* BCryptGenRandom takes a ULONG length: feed it in chunks. */
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
    (void)instance; (void)reason; (void)reserved;
    return TRUE;
}
