/* A stand-in for sc.exe's `sc query <service>`, for tests only (Wine's own knows no
 * ntrtscan service). It knows one service, ntrtscan, and prints what Windows prints
 * (public samples of `sc query`):
 *
 *   SERVICE_NAME: ntrtscan
 *           TYPE               : 10  WIN32_OWN_PROCESS
 *           STATE              : 4  RUNNING
 *                                   (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)
 *           ...
 *
 * A slow agent service, chosen through the environment:
 *   FAKE_SC_PENDING=N    the first N queries say STOPPED (the first) or START_PENDING,
 *                        later ones RUNNING; every query is counted in the file
 *                        FAKE_SC_COUNTER (one number, created when missing), so a test
 *                        needs no real wait
 *   FAKE_SC_SERVICE=absent  the service does not exist: Windows' message and exit 1060
 * Any other service name is answered as not installed, too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int not_installed(void) {
    printf("[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\n\n"
           "The specified service does not exist as an installed service.\n\n");
    return 1060;
}

int main(int argc, char **argv) {
    if (argc != 3 || _stricmp(argv[1], "query") != 0) {
        fprintf(stderr, "sc (test stand-in): only `sc query ntrtscan`\n");
        return 1639;
    }
    /* This query's number (1 for the first), kept in the counter file. */
    long query = 1;
    const char *counter = getenv("FAKE_SC_COUNTER");
    if (counter) {
        FILE *f = fopen(counter, "r");
        if (f) {
            if (fscanf(f, "%ld", &query) != 1) query = 0;
            fclose(f);
            query += 1;
        }
        f = fopen(counter, "w");
        if (f) {
            fprintf(f, "%ld\n", query);
            fclose(f);
        }
    }
    const char *service = getenv("FAKE_SC_SERVICE");
    if (_stricmp(argv[2], "ntrtscan") != 0 || (service && strcmp(service, "absent") == 0))
        return not_installed();
    const char *pending = getenv("FAKE_SC_PENDING");
    long slow = pending ? atol(pending) : 0;

    const char *state = "4  RUNNING", *controls = "(STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)";
    const char *checkpoint = "0x0", *wait_hint = "0x0";
    if (query <= slow) {
        controls = "(NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)";
        if (query == 1) {
            state = "1  STOPPED";
        } else {
            state = "2  START_PENDING";
            checkpoint = "0x1";
            wait_hint = "0x7d0";
        }
    }
    printf("\nSERVICE_NAME: ntrtscan\n");
    printf("        TYPE               : 10  WIN32_OWN_PROCESS\n");
    printf("        STATE              : %s\n", state);
    printf("                                %s\n", controls);
    printf("        WIN32_EXIT_CODE    : 0  (0x0)\n");
    printf("        SERVICE_EXIT_CODE  : 0  (0x0)\n");
    printf("        CHECKPOINT         : %s\n", checkpoint);
    printf("        WAIT_HINT          : %s\n", wait_hint);
    return 0;
}
