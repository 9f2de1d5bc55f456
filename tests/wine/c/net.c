/* A stand-in for net.exe's `net session`, the administrator check, whose answer the
 * test chooses: %FAKE_NET_SESSION%=ok succeeds (an administrator), anything else fails
 * as Windows does for a non-administrator or with the Server service stopped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    const char *answer = getenv("FAKE_NET_SESSION");
    if (answer && strcmp(answer, "ok") == 0) {
        puts("There are no entries in the list.");
        return 0;
    }
    fputs("System error 5 has occurred.\r\n\r\nAccess is denied.\r\n", stderr);
    return 2;
}
