/* A stand-in for fltmc.exe, the fallback administrator check: %FAKE_FLTMC%=ok succeeds,
 * anything else fails with "Access is denied" as for a non-administrator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    const char *answer = getenv("FAKE_FLTMC");
    if (answer && strcmp(answer, "ok") == 0) {
        puts("Filter Name                     Num Instances    Altitude    Frame");
        return 0;
    }
    fputs("[SC] OpenSCManager FAILED 5:\r\n\r\nAccess is denied.\r\n", stderr);
    return 1;
}
