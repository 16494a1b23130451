module github.com/fastcopy/fastcopy/bindings/go/fastcopy

go 1.19
