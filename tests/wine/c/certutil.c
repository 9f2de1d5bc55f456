/* A stand-in for certutil (Wine's prints nothing), for tests only. Two verbs:
 *
 *   certutil -hashfile FILE SHA256   a header line, the hash, a completion line
 *   certutil -dump FILE              a certificate file (DER, or PEM: base64 between
 *                                    -----BEGIN CERTIFICATE----- lines) dumped as
 *                                    certutil does, ending with its hash lines
 *
 * The output imitates real certutil output; sources (public samples):
 *   - Windows 10 and later print hashes as lower-case hex without spaces, e.g.
 *     "Cert Hash(sha1): 03f5b11491a94614ce0ff6653eb33b77f4834afc" (a 2023 `certutil
 *     cert.pem` dump, which also shows that certutil reads PEM files; Microsoft's
 *     Windows Hello docs, 2023), and the -dump block ends with Key Id Hash(rfc-sha1),
 *     Key Id Hash(sha1), (bcrypt-sha1, bcrypt-sha256,) md5, sha256, pin-sha256,
 *     pin-sha256-hex, Cert Hash(md5), Cert Hash(sha1), Cert Hash(sha256), Signature
 *     Hash, "CertUtil: -dump command completed successfully.".
 *   - Older Windows (2013-era samples) print bytes with spaces between them:
 *     "Cert Hash(sha1): a6 a4 ae 4e ...", with no sha256 lines.
 *   - Japanese Windows: "-hashfile" prints "SHA256 ハッシュ (対象 FILE):" (Windows 10;
 *     older: "(ファイル FILE)" and spaced bytes) and "CertUtil: -hashfile
 *     コマンドは正常に完了しました。"; "署名は公開キーと一致します" is certutil's
 *     "Signature matches Public Key". No public source shows a Japanese -dump's hash
 *     labels: "証明書のハッシュ(sha1)" and the other Japanese labels below are
 *     assumptions, which is why repair.cmd does not rely on the label text.
 * Only "Cert Hash(sha1)" (SHA-1 of the DER) and "Cert Hash(sha256)" carry the real
 * values; the other hashes have the right shape but are derived from other bytes.
 *
 * Chosen by the test through the environment:
 *   FAKE_CERTUTIL_FORMAT  win10 (default) | legacy (spaced bytes, no sha256 lines) |
 *                         fullwidth (Japanese labels with full-width parentheses, a
 *                         label repair.cmd cannot recognise)
 *   FAKE_CERTUTIL_LANG    ja | en; by default the Windows UI language decides
 *   FAKE_CERTUTIL_SUBJECT the subject line printed (default CN=certutil stand-in)
 *   FAKE_CERTUTIL_SUBJECT_LAST=1  print that line once more after the hash lines
 *                         (no certutil does: a test of repair.cmd's defences against
 *                         text from the certificate)
 * Japanese output is written in CP932, as a Japanese console program writes it. */
#include <fcntl.h>
#include <io.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

/* ---- SHA-256 ---- */
static const uint32_t K[64] = {
    0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
    0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
    0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
    0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
    0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
    0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
    0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
    0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64], a, b, c, d, e, f, g, k;
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

static void sha1_block(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
        else { f = b ^ c ^ d; k = 0xca62c1d6; }
        uint32_t t = ROL(a, 5) + f + e + k + w[i];
        e = d; d = c; c = ROL(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

/* Merkle-Damgard padding shared by both (big-endian length, 64-byte blocks). */
static void md_hash(const uint8_t *data, size_t n, int sha1, uint8_t *out) {
    uint32_t h[8] = {0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19};
    if (sha1) { h[0] = 0x67452301; h[1] = 0xefcdab89; h[2] = 0x98badcfe; h[3] = 0x10325476; h[4] = 0xc3d2e1f0; }
    size_t i = 0;
    for (; i + 64 <= n; i += 64) sha1 ? sha1_block(h, data + i) : sha256_block(h, data + i);
    uint8_t last[128] = {0};
    size_t rest = n - i;
    memcpy(last, data + i, rest);
    last[rest] = 0x80;
    size_t len = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int j = 0; j < 8; j++) last[len - 1 - j] = (uint8_t)(bits >> (8 * j));
    for (size_t j = 0; j < len; j += 64) sha1 ? sha1_block(h, last + j) : sha256_block(h, last + j);
    int words = sha1 ? 5 : 8;
    for (int j = 0; j < words; j++) {
        out[4 * j] = (uint8_t)(h[j] >> 24); out[4 * j + 1] = (uint8_t)(h[j] >> 16);
        out[4 * j + 2] = (uint8_t)(h[j] >> 8); out[4 * j + 3] = (uint8_t)h[j];
    }
}

/* ---- output: wide text, written as ASCII or (Japanese) CP932 ---- */
static int japanese;

static void out(const wchar_t *fmt, ...) {
    wchar_t wide[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = _vsnwprintf(wide, 4095, fmt, ap);
    va_end(ap);
    if (n < 0) n = 4095;
    wide[n] = 0;
    char bytes[16384];
    int m = WideCharToMultiByte(japanese ? 932 : CP_OEMCP, 0, wide, n, bytes, sizeof bytes, NULL, NULL);
    fwrite(bytes, 1, (size_t)m, stdout);
}

/* Hex of `n` bytes: "0a1b2c" (Windows 10 and later) or "0a 1b 2c" (older Windows). */
static int legacy;
static const wchar_t *hex(const uint8_t *b, size_t n) {
    static wchar_t buf[8][400];
    static int slot;
    wchar_t *s = buf[slot++ % 8], *p = s;
    for (size_t i = 0; i < n; i++) {
        if (legacy && i) *p++ = L' ';
        p += swprintf(p, 4, L"%02x", b[i]);
    }
    *p = 0;
    return s;
}

/* A row of a hex dump, as every version prints them: "    0000  30 82 .. ..  .. 0a". */
static void dump_row(size_t offset, const uint8_t *b, size_t n) {
    wchar_t row[80], *p = row;
    if (n > 16) n = 16;
    for (size_t i = 0; i < n; i++) p += swprintf(p, 5, i == 8 ? L"  %02x" : L" %02x", b[i]);
    out(L"    %04x %ls\r\n", (unsigned)offset, row);
}

/* ---- reading the certificate ---- */
static uint8_t *read_file(const wchar_t *path, size_t *len) {
    FILE *f = _wfopen(path, L"rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, r;
    uint8_t *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

static int b64(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* The DER of the first certificate: the file itself, or the base64 of a PEM block. */
static uint8_t *certificate_der(uint8_t *file, size_t n, size_t *der_len) {
    if (n > 0 && file[0] == 0x30) { *der_len = n; return file; }
    const char *begin = "-----BEGIN CERTIFICATE-----";
    size_t bl = strlen(begin);
    for (size_t i = 0; i + bl <= n; i++) {
        if (memcmp(file + i, begin, bl) != 0) continue;
        uint8_t *der = malloc(n);
        size_t o = 0;
        uint32_t acc = 0;
        int bits = 0;
        for (size_t j = i + bl; j < n && file[j] != '-'; j++) {
            int v = b64(file[j]);
            if (v < 0) continue;
            acc = acc << 6 | (uint32_t)v;
            bits += 6;
            if (bits >= 8) { bits -= 8; der[o++] = (uint8_t)(acc >> bits); }
        }
        *der_len = o;
        return der;
    }
    return NULL;
}

/* One DER header at p: the value's offset and length, or 0 when it does not fit. */
static size_t tlv(const uint8_t *p, size_t n, size_t *len) {
    if (n < 2) return 0;
    size_t hdr = 2, l = p[1];
    if (l & 0x80) {
        int k = l & 0x7f;
        if (k < 1 || k > 4 || n < 2 + (size_t)k) return 0;
        l = 0;
        for (int i = 0; i < k; i++) l = l << 8 | p[2 + i];
        hdr += (size_t)k;
    }
    if (hdr + l > n) return 0;
    *len = l;
    return hdr;
}

/* The serial number's bytes (tbsCertificate: [0] version, then the INTEGER). */
static const uint8_t *serial(const uint8_t *der, size_t n, size_t *len) {
    size_t l, h = tlv(der, n, &l);                       /* Certificate */
    if (!h) return NULL;
    const uint8_t *p = der + h;
    size_t hl, hh = tlv(p, l, &hl);                      /* tbsCertificate */
    if (!hh) return NULL;
    p += hh;
    size_t left = hl;
    if (left && p[0] == 0xa0) {                          /* version */
        size_t vl, vh = tlv(p, left, &vl);
        if (!vh) return NULL;
        p += vh + vl; left -= vh + vl;
    }
    if (!left || p[0] != 0x02) return NULL;
    size_t sl, sh = tlv(p, left, &sl);
    if (!sh) return NULL;
    *len = sl;
    return p + sh;
}

static int dump(const wchar_t *path, const wchar_t *format) {
    size_t n;
    uint8_t *file = read_file(path, &n);
    if (!file) {
        out(L"CertUtil: -dump command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)\r\n");
        out(L"CertUtil: The system cannot find the file specified.\r\n");
        return 2;
    }
    size_t der_len = 0;
    uint8_t *der = certificate_der(file, n, &der_len);
    size_t serial_len = 0;
    const uint8_t *serial_bytes = der ? serial(der, der_len, &serial_len) : NULL;
    if (!serial_bytes) {
        /* What real certutil prints for a file it cannot decode is not shown in the
         * sources used; an error and no hash lines is what matters to repair.cmd. */
        out(L"CertUtil: -dump command FAILED: 0x80092002 (-2146885630 CRYPT_E_BAD_ENCODE)\r\n");
        return 1;
    }
    int fullwidth = wcscmp(format, L"fullwidth") == 0;
    const wchar_t *subject = _wgetenv(L"FAKE_CERTUTIL_SUBJECT");
    if (!subject) subject = L"CN=certutil stand-in";

    uint8_t sha1[20], sha256[32], other[32], other2[32];
    md_hash(der, der_len, 1, sha1);
    md_hash(der, der_len, 0, sha256);
    /* Stand-in values for the hashes repair.cmd must not take for the thumbprint. */
    md_hash(der, der_len / 2, 0, other);
    md_hash(der, der_len / 3, 0, other2);

    const wchar_t *L_name = L"Name Hash", *L_key = L"Key Id Hash", *L_cert = L"Cert Hash";
    const wchar_t *open = L"(", *close = L")";
    if (japanese) { L_name = L"名前のハッシュ"; L_key = L"キー ID ハッシュ"; L_cert = L"証明書のハッシュ"; }
    if (fullwidth) { open = L"（"; close = L"）"; }

    out(japanese ? L"X509 証明書:\r\n" : L"X509 Certificate:\r\n");
    out(japanese ? L"バージョン: 3\r\n" : L"Version: 3\r\n");
    out(japanese ? L"シリアル番号: %ls\r\n" : L"Serial Number: %ls\r\n", hex(serial_bytes, serial_len));
    out(japanese ? L"署名アルゴリズム:\r\n" : L"Signature Algorithm:\r\n");
    out(L"    Algorithm ObjectId: 1.2.840.113549.1.1.11 sha256RSA\r\n");
    out(L"    Algorithm Parameters:\r\n    05 00\r\n");
    out(japanese ? L"発行者:\r\n" : L"Issuer:\r\n");
    out(L"    %ls\r\n", subject);
    if (!legacy) {
        out(L"  %ls%lssha1%ls: %ls\r\n", L_name, open, close, hex(other, 20));
        out(L"  %ls%lsmd5%ls: %ls\r\n", L_name, open, close, hex(other2, 16));
    }
    out(L"\r\n NotBefore: 1/1/2026 12:00 AM\r\n NotAfter: 1/1/2029 12:00 AM\r\n\r\n");
    out(japanese ? L"サブジェクト:\r\n" : L"Subject:\r\n");
    out(L"    %ls\r\n", subject);
    if (!legacy) {
        out(L"  %ls%lssha1%ls: %ls\r\n", L_name, open, close, hex(other, 20));
        out(L"  %ls%lsmd5%ls: %ls\r\n", L_name, open, close, hex(other2, 16));
    }
    out(L"\r\n");
    out(japanese ? L"公開キー アルゴリズム:\r\n" : L"Public Key Algorithm:\r\n");
    out(L"    Algorithm ObjectId: 1.2.840.113549.1.1.1 RSA\r\n    Algorithm Parameters:\r\n    05 00\r\n");
    out(japanese ? L"公開キーの長さ: 2048 ビット\r\n" : L"Public Key Length: 2048 bits\r\n");
    out(L"Public Key: UnusedBits = 0\r\n");
    for (size_t i = 0; i < 32 && i < der_len; i += 16) dump_row(i, der + i, der_len - i);
    out(japanese ? L"証明書の拡張機能: 0\r\n" : L"Certificate Extensions: 0\r\n");
    out(japanese ? L"署名アルゴリズム:\r\n" : L"Signature Algorithm:\r\n");
    out(L"    Algorithm ObjectId: 1.2.840.113549.1.1.11 sha256RSA\r\n");
    out(L"    Algorithm Parameters:\r\n    05 00\r\n");
    out(L"Signature: UnusedBits=0\r\n");
    dump_row(0, other2, 16);
    out(japanese ? L"署名は公開キーと一致します\r\n" : L"Signature matches Public Key\r\n");
    out(japanese ? L"ルート証明書: サブジェクトが発行者と一致します\r\n"
                 : L"Root Certificate: Subject matches Issuer\r\n");
    out(L"%ls%lsrfc-sha1%ls: %ls\r\n", L_key, open, close, hex(other2, 20));
    out(L"%ls%lssha1%ls: %ls\r\n", L_key, open, close, hex(other + 4, 20));
    if (!legacy) {
        out(L"%ls%lsbcrypt-sha1%ls: %ls\r\n", L_key, open, close, hex(other + 8, 20));
        out(L"%ls%lsbcrypt-sha256%ls: %ls\r\n", L_key, open, close, hex(other, 32));
        out(L"%ls%lsmd5%ls: %ls\r\n", L_key, open, close, hex(other2 + 4, 16));
        out(L"%ls%lssha256%ls: %ls\r\n", L_key, open, close, hex(other2, 32));
        out(L"%ls%lspin-sha256%ls: f8O316WyAbvUaa/8i01XaDfOGzPse+3F7MO2oWlOQTA=\r\n", L_key, open, close);
        out(L"%ls%lspin-sha256-hex%ls: %ls\r\n", L_key, open, close, hex(other2, 32));
    }
    out(L"%ls%lsmd5%ls: %ls\r\n", L_cert, open, close, hex(sha256 + 8, 16));
    out(L"%ls%lssha1%ls: %ls\r\n", L_cert, open, close, hex(sha1, 20));
    if (!legacy) {
        out(L"%ls%lssha256%ls: %ls\r\n", L_cert, open, close, hex(sha256, 32));
        out(japanese ? L"署名のハッシュ: %ls\r\n" : L"Signature Hash: %ls\r\n", hex(other, 32));
    }
    const wchar_t *last = _wgetenv(L"FAKE_CERTUTIL_SUBJECT_LAST");
    if (last && wcscmp(last, L"1") == 0) out(L"    %ls\r\n", subject);
    out(japanese ? L"CertUtil: -dump コマンドは正常に完了しました。\r\n"
                 : L"CertUtil: -dump command completed successfully.\r\n");
    return 0;
}

static int hashfile(const wchar_t *path) {
    size_t n;
    uint8_t *data = read_file(path, &n);
    if (!data) {
        out(L"CertUtil: -hashfile command FAILED: 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)\r\n");
        return 2;
    }
    uint8_t h[32];
    md_hash(data, n, 0, h);
    if (japanese)
        out(legacy ? L"SHA256 ハッシュ (ファイル %ls):\r\n" : L"SHA256 ハッシュ (対象 %ls):\r\n", path);
    else
        out(L"SHA256 hash of %ls:\r\n", path);
    out(L"%ls\r\n", hex(h, 32));
    out(japanese ? L"CertUtil: -hashfile コマンドは正常に完了しました。\r\n"
                 : L"CertUtil: -hashfile command completed successfully.\r\n");
    return 0;
}

int wmain(int argc, wchar_t **argv) {
    _setmode(_fileno(stdout), _O_BINARY);
    const wchar_t *lang = _wgetenv(L"FAKE_CERTUTIL_LANG");
    const wchar_t *format = _wgetenv(L"FAKE_CERTUTIL_FORMAT");
    if (!format) format = L"win10";
    legacy = wcscmp(format, L"legacy") == 0;
    if (lang)
        japanese = wcscmp(lang, L"ja") == 0;
    else
        japanese = PRIMARYLANGID(GetUserDefaultUILanguage()) == LANG_JAPANESE;
    if (wcscmp(format, L"fullwidth") == 0) japanese = 1;
    if (argc == 4 && _wcsicmp(argv[1], L"-hashfile") == 0 && _wcsicmp(argv[3], L"SHA256") == 0)
        return hashfile(argv[2]);
    if (argc == 3 && _wcsicmp(argv[1], L"-dump") == 0)
        return dump(argv[2], format);
    fwprintf(stderr, L"certutil (test stand-in): only -hashfile FILE SHA256 and -dump FILE\n");
    return 87;
}
