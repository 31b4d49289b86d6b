"""What the booth screen says about a document scan: one instruction at a time."""

MESSAGES: dict[str, tuple[str, str]] = {
    "ok": ("Kartu terbaca dengan baik", "The card is readable"),
    "hold_still": (
        "Bagus, tahan kartu sebentar",
        "Good, hold the card still for a moment",
    ),
    "captured": ("Kartu sudah difoto", "The card has been captured"),
    "no_document": (
        "Letakkan kartu di bawah kamera dokumen",
        "Place the card under the document camera",
    ),
    "cut_off": (
        "Kartu terpotong, geser ke tengah",
        "Card is cut off, move it to the middle",
    ),
    "covered": (
        "Jari atau benda menutupi tulisan, singkirkan dari dokumen",
        "A finger or an object covers the print, move it off the document",
    ),
    "tilted": ("Kartu terlalu miring", "Card is tilted"),
    "low_resolution": (
        "Kartu terlalu jauh, dekatkan ke kamera",
        "Card is too far, bring it closer to the camera",
    ),
    "too_dark": (
        "Terlalu gelap, jangan menutupi lampu",
        "Too dark, do not block the light",
    ),
    "too_bright": (
        "Terlalu terang, geser kartu dari cahaya langsung",
        "Too bright, move the card out of direct light",
    ),
    "glare": (
        "Ada pantulan cahaya, miringkan kartu sedikit",
        "Glare on the card, tilt it slightly",
    ),
    "blurry": ("Gambar buram, tahan kartu diam", "Image is blurry, hold the card still"),
    "nik_unreadable": (
        "NIK tidak terbaca, letakkan lagi dengan rata dan tahan diam",
        "The NIK could not be read, place it again flat and hold it still",
    ),
    "nik_invalid": (
        "NIK terbaca tidak sesuai, letakkan lagi dengan rata",
        "The NIK read does not look right, place it again flat",
    ),
    "camera_too_small": (
        "Kamera dokumen tidak cukup tajam untuk {document}, mohon tunggu petugas",
        "The document camera cannot resolve the {document}, please wait for the officer",
    ),
}
