// Package readme keeps the README's Go example honest: the README's code
// block must be byte-for-byte the program in example/main.go, which the
// tests build and run, checking that it commits Parquet files.
package readme
