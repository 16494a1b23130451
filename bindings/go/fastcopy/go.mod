module github.com/fastcopy/fastcopy/bindings/go/fastcopy

go 1.22

require golang.org/x/sys v0.30.0
