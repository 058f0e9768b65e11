package s3

// WithListPageSize sets how many names one List request asks for, so that
// tests can page through few objects.
var WithListPageSize = withListPageSize
