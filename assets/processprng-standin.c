/* A stand-in bcryptprimitives.dll for Wine older than 9.0, which lacks ProcessPrng.
 * Rust's std (1.78 and later) imports ProcessPrng, so without it every Rust program
 * exits at once under such a Wine. `cargo winpkg verify --wine` puts this DLL into its
 * throwaway Wine prefix only; it is never part of a package.
 * Build: x86_64-w64-mingw32-gcc -O2 -s -shared -Wl,--no-insert-timestamp
 *        -o bcryptprimitives-standin.dll processprng-standin.c -lbcrypt */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
