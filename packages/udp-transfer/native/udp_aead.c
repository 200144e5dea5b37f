/*
 * ChaCha20-Poly1305 for sealed transfer packets (@parley/udp-transfer, Node-API),
 * through the OpenSSL that Node itself links (its EVP symbols; no other library).
 *
 * node:crypto builds a new cipher object for every packet (createCipheriv, then
 * setAAD, update, final, getAuthTag: five crossings into C++ and an OpenSSL
 * cipher fetch each time), about 10 us per 1.5 KB packet on a loaded 2-core VM,
 * where the cipher itself needs about 1 us. Here one EVP context per key and
 * direction is made once and only the nonce changes per packet, in place:
 *
 *   context(key) -> external holding two EVP contexts (seal, open) for the key
 *   seal(ctx, nonce, buf, aadEnd, end) -> undefined
 *     buf[0, aadEnd) is associated data; buf[aadEnd, end) is encrypted in place;
 *     the 16-byte tag is written at buf[end].
 *   open(ctx, nonce, buf, aadEnd, tagAt) -> true when the tag verifies
 *     buf[aadEnd, tagAt) is decrypted in place (garbage when false: the caller
 *     drops the packet and reads nothing of it).
 *
 * The bytes are those of node:crypto's chacha20-poly1305 (RFC 8439); the
 * protocol package checks that on test vectors before it uses this.
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#define KEY_BYTES 32
#define NONCE_BYTES 12
#define TAG_BYTES 16

typedef struct {
  EVP_CIPHER_CTX *seal;
  EVP_CIPHER_CTX *open;
} aead_ctx;

static void free_ctx(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  aead_ctx *c = data;
  EVP_CIPHER_CTX_free(c->seal);
  EVP_CIPHER_CTX_free(c->open);
  free(c);
}

static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  void *d;
  if (napi_get_typedarray_info(env, v, &type, len, &d, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *data = d;
  return 1;
}

static napi_value Context(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint8_t *key;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !get_bytes(env, argv[0], &key, &len) || len != KEY_BYTES) {
    napi_throw_type_error(env, NULL, "context(key: 32 bytes)");
    return NULL;
  }
  aead_ctx *c = calloc(1, sizeof *c);
  if (c == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  c->seal = EVP_CIPHER_CTX_new();
  c->open = EVP_CIPHER_CTX_new();
  if (c->seal == NULL || c->open == NULL || EVP_EncryptInit_ex(c->seal, EVP_chacha20_poly1305(), NULL, key, NULL) != 1 ||
      EVP_DecryptInit_ex(c->open, EVP_chacha20_poly1305(), NULL, key, NULL) != 1) {
    free_ctx(env, c, NULL);
    napi_throw_error(env, NULL, "chacha20-poly1305 is not available");
    return NULL;
  }
  napi_value out;
  if (napi_create_external(env, c, free_ctx, NULL, &out) != napi_ok) {
    free_ctx(env, c, NULL);
    return NULL;
  }
  return out;
}

/* Common arguments: (ctx, nonce, buf, aadEnd, end) with aadEnd <= end and room for what follows end. */
static int get_args(napi_env env, napi_callback_info info, aead_ctx **c, uint8_t **nonce, uint8_t **buf, uint32_t *aad_end, uint32_t *end,
                    size_t need_after_end) {
  size_t argc = 5;
  napi_value argv[5];
  size_t nonce_len, buf_len;
  void *ext;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 || napi_get_value_external(env, argv[0], &ext) != napi_ok ||
      !get_bytes(env, argv[1], nonce, &nonce_len) || nonce_len != NONCE_BYTES || !get_bytes(env, argv[2], buf, &buf_len) ||
      napi_get_value_uint32(env, argv[3], aad_end) != napi_ok || napi_get_value_uint32(env, argv[4], end) != napi_ok || *aad_end > *end ||
      (size_t)*end + need_after_end > buf_len || *end - *aad_end > (uint32_t)INT32_MAX) {
    napi_throw_type_error(env, NULL, "(ctx, nonce: 12 bytes, buf, aadEnd <= end, end + tag <= buf.length)");
    return 0;
  }
  *c = ext;
  return 1;
}

static napi_value Seal(napi_env env, napi_callback_info info) {
  aead_ctx *c;
  uint8_t *nonce, *buf;
  uint32_t aad_end, end;
  int n;
  if (!get_args(env, info, &c, &nonce, &buf, &aad_end, &end, TAG_BYTES)) return NULL;
  if (EVP_EncryptInit_ex(c->seal, NULL, NULL, NULL, nonce) != 1 || EVP_EncryptUpdate(c->seal, NULL, &n, buf, (int)aad_end) != 1 ||
      EVP_EncryptUpdate(c->seal, buf + aad_end, &n, buf + aad_end, (int)(end - aad_end)) != 1 || EVP_EncryptFinal_ex(c->seal, buf + end, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(c->seal, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, buf + end) != 1) {
    napi_throw_error(env, NULL, "seal failed");
    return NULL;
  }
  return NULL;
}

static napi_value Open(napi_env env, napi_callback_info info) {
  aead_ctx *c;
  uint8_t *nonce, *buf;
  uint32_t aad_end, tag_at;
  int n;
  if (!get_args(env, info, &c, &nonce, &buf, &aad_end, &tag_at, TAG_BYTES)) return NULL;
  int ok = EVP_DecryptInit_ex(c->open, NULL, NULL, NULL, nonce) == 1 &&
           EVP_CIPHER_CTX_ctrl(c->open, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, buf + tag_at) == 1 &&
           EVP_DecryptUpdate(c->open, NULL, &n, buf, (int)aad_end) == 1 &&
           EVP_DecryptUpdate(c->open, buf + aad_end, &n, buf + aad_end, (int)(tag_at - aad_end)) == 1 &&
           EVP_DecryptFinal_ex(c->open, buf + tag_at, &n) == 1;
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"context", NULL, Context, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seal", NULL, Seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, Open, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
