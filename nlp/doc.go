// Package nlp turns a customer's raw message into the typed inputs the
// rest of Parley consumes:
//
//   - Normalize repairs and cleans text (NFC, control and zero-width
//     characters, typographic punctuation, whitespace) and bounds its size;
//   - Tokenizer.Parse tokenizes with prose v2 into a Doc whose tokens
//     carry byte offsets into the normalized text, optionally with
//     part-of-speech tags and named-entity labels;
//   - Entities finds order ids, emails, phone numbers, amounts, dates
//     and named entities, with offsets and normalized values;
//   - Vectorizer turns a Doc into sparse hashed n-gram Features;
//   - ReadVectors loads pretrained word vectors (fastText .vec, GloVe).
//
// User text never causes a panic: sizes are checked before any work and
// the entry points are fuzzed. Model data read from files (vectorizers,
// word vectors) is untrusted and validated with bounded allocation.
package nlp
