/* winpkg-probe32.exe: a 32-bit (x86) program that exits with 42, for `cargo winpkg
 * verify --wine` to learn whether this Wine can run 32-bit packages (64-bit-only Wine
 * cannot, and would leave a 32-bit service STOPPED without a word).
 * Build: i686-w64-mingw32-gcc -O2 -s -Wl,--no-insert-timestamp -o winpkg-probe32.exe probe32.c */
int main(void) { return 42; }
