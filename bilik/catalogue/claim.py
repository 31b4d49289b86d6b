"""What the officer is told when the claim data on a decision cannot be right."""

MESSAGES: dict[str, tuple[str, str]] = {
    "missing": (
        "Data klaim belum lengkap: {fields}",
        "The claim data is incomplete: {fields}",
    ),
    "unknown_field": ("Data klaim tidak dikenal: {field}", "Unknown claim data: {field}"),
    "nik_invalid": (
        "NIK tidak valid: harus 16 angka dengan kode wilayah dan tanggal lahir yang benar "
        "({why})",
        "The NIK is not valid: 16 digits with a real region code and birth date ({why})",
    ),
    "name_invalid": (
        "Nama harus 2 sampai {max} huruf",
        "The name must be 2 to {max} letters",
    ),
    "bank_invalid": (
        "Nama bank harus 2 sampai {max} karakter",
        "The bank's name must be 2 to {max} characters",
    ),
    "account_invalid": (
        "Nomor rekening harus {low} sampai {high} angka (spasi dan tanda - boleh)",
        "The account number must be {low} to {high} digits (spaces and - allowed)",
    ),
}
